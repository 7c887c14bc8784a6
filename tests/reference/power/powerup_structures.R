# Reference values for dwp_eval's partially nested, three-level and moderator
# designs from PowerUpR 1.1.0 (Bulus, Dong, Kelcey & Spybrook; the R version of
# PowerUp!, Dong & Maynard 2013). PowerUpR is not a Debian package: this script
# sources its R files from a checkout of https://github.com/cran/PowerUpR
# (version 1.1.0, commit ac7e9ab6b727f9536a0245441642b17bdbb3f54e):
#   POWERUPR_SRC=/path/to/PowerUpR/R Rscript powerup_structures.R > powerup_structures.Rout 2>&1
# Writes powerup_structures.csv: MDES (`mdes.*`, t multipliers) and power
# (`power.*`, noncentral t, both tails) for
#   ira_pn  individual randomisation, treatment arm clustered (Lohr, Schochet &
#           Sanders 2014), Satterthwaite df (df = NULL, ratio_tc_var = 1);
#   cra3r3  three-level cluster randomisation at level 3;
#   mod221  2-level CRT, level-1 binary moderator, non-randomly varying
#           moderator effect (omegam2 = 0): df = nJ - J - 2;
#   mod_ira individual RCT, binary moderator: PowerUpR has no such function; its
#           standard error is that of mod211 with J = 1, rho2 = 0, omega2tm = 0,
#           the MDES / power are PowerUpR's own .mdes.fun / .power.fun with
#           df = n - 4 (intercept, treatment, moderator, interaction).
src <- Sys.getenv("POWERUPR_SRC")
for (f in c("utils.R", "error.R", "ira.R", "bira2.R", "cra2.R", "cra3.R")) source(file.path(src, f))
options(digits = 15)
rows <- list()
add <- function(design, call, solved, value, df, sse, a) {
  base <- list(power = NA, es = NA, alpha = 0.05, two_tailed = TRUE, p = 0.5, q = NA,
               rho2 = NA, rho3 = NA, r21 = 0, r22 = 0, r23 = 0, g = 0, n = NA, J = NA, K = NA, ic_size = NA)
  base[names(a)] <- a
  rows[[length(rows) + 1]] <<- data.frame(design = design, call = call, solved = solved,
                                          value = value, df = df, sse = sse, base)
}
quiet <- function(expr) { capture.output(x <- suppressMessages(expr)); x }
for (alpha in c(0.05, 0.10)) for (tt in c(TRUE, FALSE)) for (pw in c(0.8, 0.9)) {
  # partially nested: n people randomised, ic_size per treatment-arm cluster
  for (n in c(120, 250, 1000)) for (p in c(0.5, 0.6)) for (rho in c(0.05, 0.2)) for (m in c(5, 10)) for (r21 in c(0, 0.3)) {
    x <- quiet(mdes.ira_pn(power = pw, alpha = alpha, two.tailed = tt, rho_ic = rho, p = p, r21 = r21, n = n, ic_size = m))
    add("ira_pn", sprintf("mdes.ira_pn(power=%g, alpha=%g, two.tailed=%s, rho_ic=%g, p=%g, r21=%g, n=%g, ic_size=%g)", pw, alpha, tt, rho, p, r21, n, m),
        "mdes", x$mdes[1], x$df, x$mdes[1] / x$ncp,
        list(power = pw, alpha = alpha, two_tailed = tt, rho2 = rho, p = p, r21 = r21, n = n, ic_size = m))
  }
  # three-level CRA: K districts, J offices each, n people per office
  for (K in c(12, 40)) for (J in c(3, 8)) for (n in c(20, 60)) for (rr in list(c(0.1, 0.05, 0, 0, 0, 0), c(0.15, 0.1, 0.3, 0.4, 0.5, 1))) {
    x <- quiet(mdes.cra3r3(power = pw, alpha = alpha, two.tailed = tt, rho2 = rr[1], rho3 = rr[2], r21 = rr[3], r22 = rr[4], r23 = rr[5], g3 = rr[6], n = n, J = J, K = K))
    add("cra3r3", sprintf("mdes.cra3r3(power=%g, alpha=%g, two.tailed=%s, rho2=%g, rho3=%g, r21=%g, r22=%g, r23=%g, g3=%g, n=%g, J=%g, K=%g)", pw, alpha, tt, rr[1], rr[2], rr[3], rr[4], rr[5], rr[6], n, J, K),
        "mdes", x$mdes[1], x$df, x$mdes[1] / x$ncp,
        list(power = pw, alpha = alpha, two_tailed = tt, rho2 = rr[1], rho3 = rr[2], r21 = rr[3], r22 = rr[4], r23 = rr[5], g = rr[6], n = n, J = J, K = K))
  }
  # moderators
  for (qq in c(0.5, 0.2)) for (r21 in c(0, 0.3)) {
    for (J in c(20, 60)) {
      x <- quiet(mdes.mod221(power = pw, alpha = alpha, two.tailed = tt, rho2 = 0.1, omegam2 = 0, r21 = r21, p = 0.5, q = qq, n = 25, J = J))
      add("mod221", sprintf("mdes.mod221(power=%g, alpha=%g, two.tailed=%s, rho2=0.1, omegam2=0, r21=%g, p=0.5, q=%g, n=25, J=%g)", pw, alpha, tt, r21, qq, J),
          "mdes", x$mdes[1], x$df, x$mdes[1] / x$ncp,
          list(power = pw, alpha = alpha, two_tailed = tt, rho2 = 0.1, r21 = r21, q = qq, n = 25, J = J))
    }
    for (n in c(200, 1000)) for (p in c(0.5, 0.4)) {
      x <- quiet(mdes.mod211(power = pw, alpha = alpha, two.tailed = tt, rho2 = 0, omega2tm = 0, r21 = r21, p = p, q = qq, n = n, J = 1))
      sse <- x$mdes[1] / x$ncp
      df <- n - 4
      v <- .mdes.fun(power = pw, alpha = alpha, sse = sse, df = df, two.tailed = tt)
      add("mod_ira", sprintf("mod211 SSE (rho2=0, omega2tm=0, J=1, r21=%g, p=%g, q=%g, n=%g) with .mdes.fun(power=%g, alpha=%g, df=n-4, two.tailed=%s)", r21, p, qq, n, pw, alpha, tt),
          "mdes", v[1], df, sse, list(power = pw, alpha = alpha, two_tailed = tt, p = p, q = qq, r21 = r21, n = n))
    }
  }
}
for (alpha in c(0.05, 0.01)) for (tt in c(TRUE, FALSE)) for (es in c(0.2, 0.35)) {
  for (n in c(150, 600)) {
    x <- quiet(power.ira_pn(es = es, alpha = alpha, two.tailed = tt, rho_ic = 0.1, p = 0.5, r21 = 0.2, n = n, ic_size = 8))
    add("ira_pn", sprintf("power.ira_pn(es=%g, alpha=%g, two.tailed=%s, rho_ic=0.1, p=0.5, r21=0.2, n=%g, ic_size=8)", es, alpha, tt, n),
        "power", x$power, x$df, es / x$ncp, list(es = es, alpha = alpha, two_tailed = tt, rho2 = 0.1, r21 = 0.2, n = n, ic_size = 8))
  }
  for (K in c(16, 50)) {
    x <- quiet(power.cra3r3(es = es, alpha = alpha, two.tailed = tt, rho2 = 0.1, rho3 = 0.05, r21 = 0.2, r22 = 0.3, r23 = 0.4, g3 = 1, n = 30, J = 4, K = K))
    add("cra3r3", sprintf("power.cra3r3(es=%g, alpha=%g, two.tailed=%s, rho2=0.1, rho3=0.05, r21=0.2, r22=0.3, r23=0.4, g3=1, n=30, J=4, K=%g)", es, alpha, tt, K),
        "power", x$power, x$df, es / x$ncp, list(es = es, alpha = alpha, two_tailed = tt, rho2 = 0.1, rho3 = 0.05, r21 = 0.2, r22 = 0.3, r23 = 0.4, g = 1, n = 30, J = 4, K = K))
  }
  for (J in c(20, 40)) {
    x <- quiet(power.mod221(es = es, alpha = alpha, two.tailed = tt, rho2 = 0.15, omegam2 = 0, r21 = 0.1, p = 0.5, q = 0.3, n = 20, J = J))
    add("mod221", sprintf("power.mod221(es=%g, alpha=%g, two.tailed=%s, rho2=0.15, omegam2=0, r21=0.1, p=0.5, q=0.3, n=20, J=%g)", es, alpha, tt, J),
        "power", x$power, x$df, es / x$ncp, list(es = es, alpha = alpha, two_tailed = tt, rho2 = 0.15, r21 = 0.1, q = 0.3, n = 20, J = J))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "powerup_structures.csv", row.names = FALSE)
cat(nrow(out), "rows written to powerup_structures.csv\n")
# PowerUpR's own example (Lohr, Schochet & Sanders 2014, constructed example 3.3, pp. 51-59):
str(quiet(mdes.ira_pn(n = 250, rho_ic = 0.10, ic_size = 5, ratio_tc_var = 1, df = Inf))[c("df", "mdes")])
print(sessionInfo())
