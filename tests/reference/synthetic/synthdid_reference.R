# Reference values for dwp_eval.synthetic_did / synthetic_control from R synthdid.
# synthdid is not in Debian: built from public source (github:synth-inference/synthdid,
# commit 70c1ce3eac58e28c30b67435ca377bb48baa9b8a, version 0.0.9) into a private library:
#   R CMD INSTALL -l /tmp/Rlib <synthdid source>   (Imports: mvtnorm, Debian r-cran-mvtnorm)
# Rerun:  Rscript synthdid_reference.R > synthdid_reference.csv
library(synthdid, lib.loc = "/tmp/Rlib")
d <- read.csv("california_prop99.csv", sep = ";")
setup <- panel.matrices(d, unit = "State", time = "Year", outcome = "PacksPerCapita", treatment = "treated")
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
  out(paste0(name, "_zeta_omega"), "", attr(e, "opts")$zeta.omega)
  for (i in seq_along(w$omega)) out(paste0(name, "_omega"), rownames(setup$Y)[i], w$omega[i])
  for (i in seq_along(w$lambda)) out(paste0(name, "_lambda"), colnames(setup$Y)[i], w$lambda[i])
  out(paste0(name, "_se_jackknife"), "", sqrt(vcov(e, method = "jackknife")))
  set.seed(12345)
  out(paste0(name, "_se_placebo"), "", sqrt(vcov(e, method = "placebo", replications = 200)))
}
