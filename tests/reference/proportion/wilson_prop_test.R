# Wilson score intervals from R's prop.test(correct = FALSE), the reference for
# dwp_eval._core.proportion.wilson_interval (tests/test_report_edges.py).
# prop.test without continuity correction gives the Wilson (1927) interval and sets the
# bound to exactly 0 at k = 0 and 1 at k = n.
# Run: Rscript wilson_prop_test.R > wilson_prop_test.out 2>&1  (writes wilson_prop_test.csv)
cat(R.version.string, "\n")
grid <- expand.grid(n = c(1, 2, 3, 7, 9, 12, 40, 150, 1000, 12345), alpha = c(0.01, 0.05, 0.1))
rows <- list()
for (i in seq_len(nrow(grid))) {
  n <- grid$n[i]; a <- grid$alpha[i]
  ks <- unique(c(0, 1, 2, floor(n / 3), floor(n / 2), n - 2, n - 1, n))
  ks <- ks[ks >= 0 & ks <= n]
  for (k in ks) {
    ci <- suppressWarnings(prop.test(k, n, conf.level = 1 - a, correct = FALSE)$conf.int)
    rows[[length(rows) + 1]] <- data.frame(k = k, n = n, alpha = a,
                                           lower = sprintf("%.17g", ci[1]),
                                           upper = sprintf("%.17g", ci[2]))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "wilson_prop_test.csv", row.names = FALSE, quote = FALSE)
cat(nrow(out), "intervals written to wilson_prop_test.csv\n")
print(head(out, 12))
