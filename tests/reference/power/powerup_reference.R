# Reference values for dwp_eval.design.power from PowerUpR 1.1.0 (Bulus, Dong,
# Kelcey & Spybrook; the R version of PowerUp!, Dong & Maynard 2013, JREE 6:24).
# PowerUpR is not a Debian package: this script sources its R files from a
# checkout of https://github.com/cran/PowerUpR (version 1.1.0, commit ac7e9ab6b727f9536a0245441642b17bdbb3f54e):
#   POWERUPR_SRC=/path/to/PowerUpR/R Rscript powerup_reference.R > powerup_reference.Rout 2>&1
# Writes powerup_results.csv: MDES (t multipliers: `mdes.*`) and power
# (noncentral t, both tails: `power.*`) for the designs dwp_eval covers:
# ira1r1 (individual), bira2f1 (individuals within fixed blocks),
# cra2r2 (clusters), bcra3f2 (clusters within fixed blocks).
src <- Sys.getenv("POWERUPR_SRC")
for (f in c("utils.R", "error.R", "ira.R", "cra2.R")) source(file.path(src, f))
options(digits = 15)
rows <- list()
add <- function(design, call, solved, value, df, args) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, call = call, solved = solved, value = value, df = df,
    power = args$power, es = args$es, alpha = args$alpha, two_tailed = args$two_tailed,
    p = args$p, g = args$g, r21 = args$r21, r22 = args$r22, rho2 = args$rho2,
    n = args$n, J = args$J, K = args$K)
}
base <- list(power = NA, es = NA, alpha = 0.05, two_tailed = TRUE, p = 0.5, g = 0,
             r21 = 0, r22 = 0, rho2 = NA, n = NA, J = NA, K = NA)
upd <- function(...) { a <- base; v <- list(...); a[names(v)] <- v; a }
quiet <- function(expr) { capture.output(x <- expr); x }
for (alpha in c(0.05, 0.10)) for (tt in c(TRUE, FALSE)) for (pw in c(0.8, 0.9)) {
  for (n in c(60, 250, 1000)) for (p in c(0.5, 0.3)) for (r21 in c(0, 0.4)) {
    g <- ifelse(r21 > 0, 3, 0)
    m <- quiet(mdes.ira1r1(power = pw, alpha = alpha, two.tailed = tt, p = p, g1 = g, r21 = r21, n = n))
    add("ira1r1", sprintf("mdes.ira1r1(power=%g, alpha=%g, two.tailed=%s, p=%g, g1=%g, r21=%g, n=%g)", pw, alpha, tt, p, g, r21, n),
        "mdes", m$mdes[1], m$df, upd(power = pw, alpha = alpha, two_tailed = tt, p = p, g = g, r21 = r21, n = n))
  }
  for (n in c(10, 40)) for (J in c(5, 20)) for (r21 in c(0, 0.5)) {
    g <- ifelse(r21 > 0, 2, 0)
    m <- quiet(mdes.bira2f1(power = pw, alpha = alpha, two.tailed = tt, g1 = g, r21 = r21, n = n, J = J))
    add("bira2f1", sprintf("mdes.bira2f1(power=%g, alpha=%g, two.tailed=%s, g1=%g, r21=%g, n=%g, J=%g)", pw, alpha, tt, g, r21, n, J),
        "mdes", m$mdes[1], m$df, upd(power = pw, alpha = alpha, two_tailed = tt, g = g, r21 = r21, n = n, J = J))
  }
  for (rho2 in c(0.02, 0.17)) for (n in c(15, 60)) for (J in c(12, 40)) for (r in list(c(0, 0, 0), c(0.3, 0.6, 1))) {
    m <- quiet(mdes.cra2r2(power = pw, alpha = alpha, two.tailed = tt, rho2 = rho2, g2 = r[3], r21 = r[1], r22 = r[2], n = n, J = J))
    add("cra2r2", sprintf("mdes.cra2r2(power=%g, alpha=%g, two.tailed=%s, rho2=%g, g2=%g, r21=%g, r22=%g, n=%g, J=%g)", pw, alpha, tt, rho2, r[3], r[1], r[2], n, J),
        "mdes", m$mdes[1], m$df, upd(power = pw, alpha = alpha, two_tailed = tt, rho2 = rho2, g = r[3], r21 = r[1], r22 = r[2], n = n, J = J))
  }
  for (rho2 in c(0.05, 0.10)) for (J in c(8, 44)) for (K in c(3, 5)) {
    m <- quiet(mdes.bcra3f2(power = pw, alpha = alpha, two.tailed = tt, rho2 = rho2, n = 20, J = J, K = K))
    add("bcra3f2", sprintf("mdes.bcra3f2(power=%g, alpha=%g, two.tailed=%s, rho2=%g, n=20, J=%g, K=%g)", pw, alpha, tt, rho2, J, K),
        "mdes", m$mdes[1], m$df, upd(power = pw, alpha = alpha, two_tailed = tt, rho2 = rho2, n = 20, J = J, K = K))
  }
}
for (alpha in c(0.05, 0.01)) for (tt in c(TRUE, FALSE)) for (es in c(0.1, 0.25, 0.4)) {
  for (n in c(100, 400)) {
    m <- quiet(power.ira1r1(es = es, alpha = alpha, two.tailed = tt, n = n))
    add("ira1r1", sprintf("power.ira1r1(es=%g, alpha=%g, two.tailed=%s, n=%g)", es, alpha, tt, n),
        "power", m$power, m$df, upd(es = es, alpha = alpha, two_tailed = tt, n = n))
  }
  for (J in c(10, 30)) {
    m <- quiet(power.cra2r2(es = es, alpha = alpha, two.tailed = tt, rho2 = 0.1, r21 = 0.2, r22 = 0.5, g2 = 1, n = 25, J = J))
    add("cra2r2", sprintf("power.cra2r2(es=%g, alpha=%g, two.tailed=%s, rho2=0.1, r21=0.2, r22=0.5, g2=1, n=25, J=%g)", es, alpha, tt, J),
        "power", m$power, m$df, upd(es = es, alpha = alpha, two_tailed = tt, rho2 = 0.1, r21 = 0.2, r22 = 0.5, g = 1, n = 25, J = J))
    m <- quiet(power.bcra3f2(es = es, alpha = alpha, two.tailed = tt, rho2 = 0.1, n = 20, J = J, K = 4))
    add("bcra3f2", sprintf("power.bcra3f2(es=%g, alpha=%g, two.tailed=%s, rho2=0.1, n=20, J=%g, K=4)", es, alpha, tt, J),
        "power", m$power, m$df, upd(es = es, alpha = alpha, two_tailed = tt, rho2 = 0.1, n = 20, J = J, K = 4))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "powerup_results.csv", row.names = FALSE)
cat(nrow(out), "rows written to powerup_results.csv\n")
# the cross-checks printed in PowerUpR's help pages (man/ira.Rd, man/cra2.Rd)
mdes.ira(n = 250)
mdes.bira2f1(n = 15, J = 20)
mdes.cra2(rho2 = .17, n = 15, J = 20)
mdes.bcra3f2(rho2 = .10, n = 20, J = 44, K = 5)
print(sessionInfo())
