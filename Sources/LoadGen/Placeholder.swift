// The engine of `scdns qps` (issue 5).
