#pragma once

// Included by exactly one file per test binary: the CAF test runner.
#include "caf/test/unit_test_impl.hpp"
