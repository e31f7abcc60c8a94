module castle.local/cluster/selftest

go 1.24.0
