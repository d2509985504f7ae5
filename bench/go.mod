module racert/bench

// 1.22: loop variables per iteration, as the workloads had when they were
// built as loose files (the toolchain's own language version then).
go 1.22
