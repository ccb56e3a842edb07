// main.cpp — doctest's runner for the BPF_PROG_TEST_RUN tests (root only).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
