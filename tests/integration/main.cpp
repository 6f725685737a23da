#include "tests/support/test_main.hpp"
