# Timing of CR2 standard errors with Bell-McCaffrey / Satterthwaite degrees of
# freedom in R, as the yardstick for the dwp_eval variance core.
#
# Usage (from the repository root):
#   Rscript benchmarks/r/bench_cr2.R                 # 1,000,000 rows (about 8 minutes)
#   Rscript benchmarks/r/bench_cr2.R 100000 > benchmarks/r/bench_cr2_100k.out 2>&1
#   Rscript benchmarks/r/bench_cr2.R 1000000 --csv=/tmp/cr2_1m.csv   # also write the data
#
# Times
#   1. estimatr::lm_robust(y ~ z + x1 + ... + x10, clusters = cluster, se_type = "CR2")
#      on all n rows;
#   2. clubSandwich::vcovCR(type = "CR2") + coef_test(test = "Satterthwaite") on the
#      first min(n, 100000) rows (the lm fit itself is timed separately).
# Each timing is system.time(); the elapsed seconds are printed.
#
# Data-generating process (the Python benchmark rebuilds the same shape; R's and
# numpy's random streams differ, so only the shape and the distributions are
# shared -- pass --csv=PATH to write the exact rows if identical data are wanted):
#   n rows, G = 1000 clusters.
#   Cluster sizes are deterministic: weight w_g = exp(3 * (g - 1) / (G - 1)),
#     g = 1..G (largest/smallest = e^3, about 20); size_g = floor(n * w_g / sum(w)),
#     and the n - sum(size) leftover rows go one each to the clusters with the
#     largest fractional parts n * w_g / sum(w) - size_g (ties: smaller g first).
#     For n = 1e6 sizes run from 157 to 3,155 (median 704); for n = 1e5 from
#     16 to 316 (median 70.5).
#   set.seed(20240601), then, in this order:
#   z_cluster: cluster-level complete random assignment, 500 of the 1000
#     clusters treated: treated <- sample(G, G / 2).
#   u_g ~ N(0, 0.5^2), one per cluster: u <- rnorm(G, 0, 0.5).
#   x1..x10 ~ N(0, 1) iid per row, drawn column by column: x_k <- rnorm(n).
#   e ~ N(0, 1) per row: e <- rnorm(n).
#   y = 1 + 0.2 z + sum_k (k / 10) x_k + u_cluster + e.
#   Rows are then put in a random order: d <- d[sample(n), ], so "the first
#   100,000 rows" are a random tenth of the 1M-row file that still covers all
#   1000 clusters.
#   Columns: cluster (integer 1..G), z (0/1), x1..x10, y.

suppressPackageStartupMessages({
  library(estimatr)
  library(clubSandwich)
})
options(width = 200)

args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) && !startsWith(args[1], "--")) as.numeric(args[1]) else 1e6
csv_arg <- grep("^--csv=", args, value = TRUE)
G <- 1000
n_cs <- min(n, 1e5)

cluster_sizes <- function(n, G) {
  w <- exp(3 * (seq_len(G) - 1) / (G - 1))
  exact <- n * w / sum(w)
  size <- floor(exact)
  left <- n - sum(size)
  if (left > 0) {
    frac <- exact - size
    take <- order(-frac, seq_len(G))[seq_len(left)]
    size[take] <- size[take] + 1
  }
  size
}

make_data <- function(n, G) {
  size <- cluster_sizes(n, G)
  set.seed(20240601)
  treated <- sample(G, G / 2)
  u <- rnorm(G, 0, 0.5)
  cluster <- rep(seq_len(G), size)
  z_cluster <- as.integer(seq_len(G) %in% treated)
  d <- data.frame(cluster = cluster, z = z_cluster[cluster])
  mu <- 1 + 0.2 * d$z + u[cluster]
  for (k in 1:10) {
    x <- rnorm(n)
    d[[paste0("x", k)]] <- x
    mu <- mu + (k / 10) * x
  }
  d$y <- mu + rnorm(n)
  d[sample(n), ]
}

cat(sprintf("rows: %d, clusters: %d\n", n, G))
gen <- system.time(d <- make_data(n, G))
sz <- table(d$cluster)
cat(sprintf("data generated in %.2f s; cluster sizes %d to %d (median %g); %d treated clusters\n",
            gen[["elapsed"]], min(sz), max(sz), median(sz), length(unique(d$cluster[d$z == 1]))))
if (length(csv_arg)) {
  path <- sub("^--csv=", "", csv_arg)
  write.csv(d, path, row.names = FALSE)
  cat("wrote", path, "\n")
}

f <- y ~ z + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10

invisible(gc())
t_er <- system.time(
  fit_er <- lm_robust(f, data = d, clusters = cluster, se_type = "CR2")
)
cat(sprintf("\nestimatr lm_robust CR2, %d rows: elapsed %.2f s (user %.2f, system %.2f)\n",
            n, t_er[["elapsed"]], t_er[["user.self"]], t_er[["sys.self"]]))
print(tidy(fit_er)[1:3, c("term", "estimate", "std.error", "df")], digits = 10)

sub <- d[seq_len(n_cs), ]
invisible(gc())
t_lm <- system.time(fit_lm <- lm(f, data = sub))
t_cs <- system.time({
  V <- vcovCR(fit_lm, cluster = sub$cluster, type = "CR2")
  ct <- coef_test(fit_lm, vcov = V, test = "Satterthwaite")
})
cat(sprintf(paste0("\nclubSandwich vcovCR(CR2) + coef_test(Satterthwaite), first %d rows ",
                   "(%d clusters): elapsed %.2f s (user %.2f, system %.2f); lm fit %.2f s\n"),
            n_cs, length(unique(sub$cluster)), t_cs[["elapsed"]], t_cs[["user.self"]],
            t_cs[["sys.self"]], t_lm[["elapsed"]]))
print(ct[1:3, ], digits = 10)

if (n_cs == n) {
  z_er <- tidy(fit_er)[2, ]
  z_cs <- ct[2, ]
  cat(sprintf("\nsame rows in both: relative difference in SE(z) %.2e, in df(z) %.2e\n",
              abs(z_cs$SE / z_er$std.error - 1), abs(z_cs$df_Satt / z_er$df - 1)))
}

cat("\n")
print(sessionInfo())
