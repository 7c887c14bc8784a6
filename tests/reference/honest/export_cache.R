# Writes betahat/sigma of README chunk 8 and the cached result tables of chunks 4, 6, 7.
out <- commandArgs(TRUE)[1]
e <- new.env(); lazyLoad(sub("\\.rdb$", "", list.files(pattern = "chunk-8_.*rdb$")), envir = e)
write.csv(data.frame(term = names(e$betahat), betahat = sprintf("%.17g", e$betahat)),
          file.path(out, "medicaid_controls_betahat.csv"), row.names = FALSE)
write.csv(apply(e$sigma, 2, function(x) sprintf("%.17g", x)),
          file.path(out, "medicaid_controls_sigma.csv"), row.names = FALSE)
for (f in sub("\\.rdb$", "", list.files(pattern = "chunk-(4|6|7)_.*rdb$"))) {
  e <- new.env(); lazyLoad(f, envir = e)
  for (n in ls(e)) {
    x <- as.data.frame(lapply(unclass(e[[n]])[c("lb", "ub")], function(v) sprintf("%.17g", v)))
    write.csv(cbind(x, as.data.frame(unclass(e[[n]])[setdiff(names(e[[n]]), c("lb", "ub"))])),
              file.path(out, paste0("readme_", n, ".csv")), row.names = FALSE)
  }
}
# HonestDiD's FLCI critical value is a simulated quantile of |N(mu, 1)| (1e6 draws, seed 0,
# R/flci.R .qfoldednormal); its values at the two bias/sd ratios of the controls example:
set.seed(0); d <- rnorm(1e6)
mu <- c(1.342937786247811, 2.0144066793717146)
write.csv(data.frame(mu = sprintf("%.17g", mu), q = sprintf("%.17g", sapply(mu, function(m) quantile(abs(d + m), 0.95)))),
          file.path(out, "r_qfoldednormal.csv"), row.names = FALSE)
