# R did att_gt(panel = FALSE) timing for benchmarks/bench_staggered_rcs.py.
#   PYTHONPATH=src python benchmarks/bench_staggered_rcs.py        # writes /tmp/bench_staggered_rcs.csv
#   R_LIBS=/tmp/Rlib Rscript benchmarks/r/bench_staggered_rcs.R > benchmarks/r/bench_staggered_rcs.out 2>&1
# dr, no covariates, survey weights, clustered by area, 1,000 multiplier bootstrap draws.
suppressPackageStartupMessages({library(did); library(data.table)})
cat("did", as.character(packageVersion("did")), "\n")
d <- as.data.frame(fread("/tmp/bench_staggered_rcs.csv"))
cat("rows", nrow(d), "\n")
set.seed(1)
tm <- system.time(res <- att_gt(yname = "y", tname = "quarter", gname = "cohort", data = d, panel = FALSE,
                                weightsname = "w", clustervars = "area", est_method = "dr", bstrap = TRUE,
                                biters = 1000, cband = TRUE))
print(tm)
cat("elapsed_seconds", unname(min(tm[["elapsed"]], tm[["user.self"]] + tm[["sys.self"]])), "\n")
print(head(data.frame(g = res$group, t = res$t, att = res$att, se = res$se), 10))
