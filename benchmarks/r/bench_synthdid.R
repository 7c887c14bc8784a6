# R synthdid synthdid_estimate timing on Prop 99 for benchmarks/bench_synthetic.py.
#   R_LIBS=/tmp/Rlib Rscript benchmarks/r/bench_synthdid.R > benchmarks/r/bench_synthdid.out 2>&1
# Run from the repository root. Times only synthdid_estimate (R start-up and data loading excluded),
# mean over 10 calls.
suppressPackageStartupMessages(library(synthdid))
cat("synthdid", as.character(packageVersion("synthdid")), "\n")
d <- read.csv("tests/reference/synthetic/california_prop99.csv", sep = ";")
setup <- panel.matrices(d, unit = "State", time = "Year", outcome = "PacksPerCapita", treatment = "treated")
reps <- 10
tm <- system.time(for (k in 1:reps) e <- synthdid_estimate(setup$Y, setup$N0, setup$T0))
print(tm)
cat("estimate", sprintf("%.17g", c(e)), "\n")
cat("elapsed_seconds_per_call", tm[["elapsed"]] / reps, "\n")
