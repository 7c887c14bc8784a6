# Reference values for dwp_eval.design.power from R's pwr package (Champely).
# Run from this folder:  Rscript pwr_reference.R > pwr_reference.Rout 2>&1
# Writes pwr_results.csv: one row per pwr call; `solved` names what pwr solved
# and `value` is its answer (n is per group for pwr.t.test / pwr.2p.test).
suppressPackageStartupMessages(library(pwr))
options(digits = 15)
rows <- list()
add <- function(fun, call, alternative, sig, n1, n2, es, power, solved, value) {
  rows[[length(rows) + 1]] <<- data.frame(
    fun = fun, call = call, alternative = alternative, sig_level = sig,
    n1 = n1, n2 = n2, es = es, power = power, solved = solved, value = value)
}
alts <- c("two.sided", "greater")
for (alt in alts) for (sig in c(0.05, 0.01)) {
  # pwr.t.test: two-sample, equal n (n per group)
  for (d in c(0.2, 0.5, 0.8)) for (n in c(20, 64, 200)) {
    r <- pwr.t.test(n = n, d = d, sig.level = sig, alternative = alt, type = "two.sample")
    add("pwr.t.test", sprintf("pwr.t.test(n=%g, d=%g, sig.level=%g, alternative='%s')", n, d, sig, alt),
        alt, sig, n, n, d, r$power, "power", r$power)
  }
  for (d in c(0.2, 0.5, 0.8)) for (p in c(0.8, 0.9)) {
    r <- pwr.t.test(d = d, power = p, sig.level = sig, alternative = alt)
    add("pwr.t.test", sprintf("pwr.t.test(d=%g, power=%g, sig.level=%g, alternative='%s')", d, p, sig, alt),
        alt, sig, r$n, r$n, d, p, "n", r$n)
  }
  for (n in c(30, 100, 500)) for (p in c(0.8, 0.9)) {
    r <- pwr.t.test(n = n, power = p, sig.level = sig, alternative = alt)
    add("pwr.t.test", sprintf("pwr.t.test(n=%g, power=%g, sig.level=%g, alternative='%s')", n, p, sig, alt),
        alt, sig, n, n, r$d, p, "d", r$d)
  }
  # pwr.t2n.test: unequal groups
  for (nn in list(c(30, 60), c(100, 50), c(250, 750))) for (d in c(0.3, 0.6)) {
    r <- pwr.t2n.test(n1 = nn[1], n2 = nn[2], d = d, sig.level = sig, alternative = alt)
    add("pwr.t2n.test", sprintf("pwr.t2n.test(n1=%g, n2=%g, d=%g, sig.level=%g, alternative='%s')", nn[1], nn[2], d, sig, alt),
        alt, sig, nn[1], nn[2], d, r$power, "power", r$power)
  }
  for (nn in list(c(30, 60), c(100, 50), c(250, 750))) {
    r <- pwr.t2n.test(n1 = nn[1], n2 = nn[2], power = 0.8, sig.level = sig, alternative = alt)
    add("pwr.t2n.test", sprintf("pwr.t2n.test(n1=%g, n2=%g, power=0.8, sig.level=%g, alternative='%s')", nn[1], nn[2], sig, alt),
        alt, sig, nn[1], nn[2], r$d, 0.8, "d", r$d)
  }
  # pwr.2p.test: Cohen's h, equal n
  for (pp in list(c(0.25, 0.20), c(0.30, 0.20), c(0.65, 0.50))) for (n in c(100, 500, 1500)) {
    h <- ES.h(pp[1], pp[2])
    r <- pwr.2p.test(h = h, n = n, sig.level = sig, alternative = alt)
    add("pwr.2p.test", sprintf("pwr.2p.test(h=ES.h(%g, %g), n=%g, sig.level=%g, alternative='%s')", pp[1], pp[2], n, sig, alt),
        alt, sig, n, n, h, r$power, "power", r$power)
  }
  for (pp in list(c(0.25, 0.20), c(0.38, 0.20))) for (p in c(0.8, 0.9)) {
    h <- ES.h(pp[1], pp[2])
    r <- pwr.2p.test(h = h, power = p, sig.level = sig, alternative = alt)
    add("pwr.2p.test", sprintf("pwr.2p.test(h=ES.h(%g, %g), power=%g, sig.level=%g, alternative='%s')", pp[1], pp[2], p, sig, alt),
        alt, sig, r$n, r$n, h, p, "n", r$n)
  }
  for (n in c(200, 1000)) {
    r <- pwr.2p.test(n = n, power = 0.8, sig.level = sig, alternative = alt)
    add("pwr.2p.test", sprintf("pwr.2p.test(n=%g, power=0.8, sig.level=%g, alternative='%s')", n, sig, alt),
        alt, sig, n, n, r$h, 0.8, "h", r$h)
  }
  # pwr.2p2n.test: Cohen's h, unequal n
  for (nn in list(c(400, 800), c(1200, 600))) for (pp in list(c(0.25, 0.20), c(0.30, 0.20))) {
    h <- ES.h(pp[1], pp[2])
    r <- pwr.2p2n.test(h = h, n1 = nn[1], n2 = nn[2], sig.level = sig, alternative = alt)
    add("pwr.2p2n.test", sprintf("pwr.2p2n.test(h=ES.h(%g, %g), n1=%g, n2=%g, sig.level=%g, alternative='%s')", pp[1], pp[2], nn[1], nn[2], sig, alt),
        alt, sig, nn[1], nn[2], h, r$power, "power", r$power)
  }
  for (nn in list(c(400, 800), c(1200, 600))) {
    r <- pwr.2p2n.test(n1 = nn[1], n2 = nn[2], power = 0.8, sig.level = sig, alternative = alt)
    add("pwr.2p2n.test", sprintf("pwr.2p2n.test(n1=%g, n2=%g, power=0.8, sig.level=%g, alternative='%s')", nn[1], nn[2], sig, alt),
        alt, sig, nn[1], nn[2], r$h, 0.8, "h", r$h)
  }
}
out <- do.call(rbind, rows)
write.csv(out, "pwr_results.csv", row.names = FALSE)
cat(nrow(out), "rows written to pwr_results.csv\n")
print(head(out, 5))
print(pwr.t.test(d = 0.5, power = 0.8))
print(pwr.2p.test(h = ES.h(0.25, 0.20), power = 0.8))
print(sessionInfo())
