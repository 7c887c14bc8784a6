# t quantiles qt(0.975, df) from R, to 17 significant digits: the accuracy that
# tests/test_cli_dependencies.py asks of scipy.stats.t.ppf at the scipy floor.
# Run: Rscript tests/reference/deps/t_quantiles.R > tests/reference/deps/t_quantiles.csv
df <- c(1, 2, 5, 6, 7, 10, 39, 49, 99, 2.5, 7.3)
cat("df,q975\n")
cat(sprintf("%.17g,%.17g", df, qt(0.975, df)), sep = "\n")
