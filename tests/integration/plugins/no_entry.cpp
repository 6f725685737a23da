// A shared library that is no cw plugin: it has no entry point.

extern "C" int cw_test_not_a_plugin() {
  return 42;
}
