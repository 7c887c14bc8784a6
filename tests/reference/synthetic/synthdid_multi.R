# R synthdid on factor_panel.csv (5 treated units): estimates, weights, jackknife SE,
# placebo and bootstrap SEs. synthdid 0.0.9, github:synth-inference/synthdid commit
# 70c1ce3eac58e28c30b67435ca377bb48baa9b8a, built with R CMD INSTALL -l /tmp/Rlib.
# Rerun:  Rscript synthdid_multi.R > synthdid_multi.csv
library(synthdid, lib.loc = "/tmp/Rlib")
d <- read.csv("factor_panel.csv")
setup <- panel.matrices(d, unit = "unit", time = "year", outcome = "y", treatment = "treated")
out <- function(key, index, value) cat(sprintf("%s,%s,%.17g\n", key, index, value))
cat("key,index,value\n")
ests <- list(
  synthdid = synthdid_estimate(setup$Y, setup$N0, setup$T0),
  sc = sc_estimate(setup$Y, setup$N0, setup$T0),
  did = did_estimate(setup$Y, setup$N0, setup$T0))
for (name in names(ests)) {
  e <- ests[[name]]
  w <- attr(e, "weights")
  out(paste0(name, "_estimate"), "", c(e))
  for (i in seq_along(w$omega)) out(paste0(name, "_omega"), rownames(setup$Y)[i], w$omega[i])
  for (i in seq_along(w$lambda)) out(paste0(name, "_lambda"), colnames(setup$Y)[i], w$lambda[i])
  out(paste0(name, "_se_jackknife"), "", sqrt(vcov(e, method = "jackknife")))
  set.seed(12345)
  out(paste0(name, "_se_placebo"), "", sqrt(vcov(e, method = "placebo", replications = 400)))
  set.seed(12345)
  out(paste0(name, "_se_bootstrap"), "", sqrt(vcov(e, method = "bootstrap", replications = 400)))
}
