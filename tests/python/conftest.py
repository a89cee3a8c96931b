"""pytest configuration of tests/python."""


def pytest_configure(config):
    config.addinivalue_line("markers", "itsor_env(env): environment the test's `itsor serve` starts with")
