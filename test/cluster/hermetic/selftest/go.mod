module castle.local/test/cluster/hermetic/selftest

go 1.24.0
