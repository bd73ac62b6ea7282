"""Report generators in styles the demo generator never writes: honest proxies for
benchmarks and tests, not product code."""
