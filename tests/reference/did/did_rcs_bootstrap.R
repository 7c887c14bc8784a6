# R did multiplier-bootstrap quantities (panel = FALSE) for staggered_did's bootstrap bands.
#   R_LIBS=/tmp/Rlib Rscript tests/reference/did/did_rcs_bootstrap.R > tests/reference/did/did_rcs_bootstrap.Rout 2>&1
# Writes did_rcs_bootstrap.csv: for five seeds, the uniform-band critical value of the
# ATT(g, t) (att_gt) and of each aggregation (aggte, cband = TRUE), and the bootstrap
# standard errors, from 20,000 Rademacher draws (clustered by area, survey weights).
suppressPackageStartupMessages(library(did))
cat("did", as.character(packageVersion("did")), "\n")
dir <- "tests/reference/did"
rcs <- read.csv(file.path(dir, "staggered_rcs.csv"))
rows <- list()
for (seed in 1:5) {
  set.seed(seed)
  res <- suppressWarnings(att_gt(yname = "y", tname = "quarter", gname = "cohort", data = rcs,
                                 panel = FALSE, xformla = ~1, control_group = "nevertreated",
                                 est_method = "dr", base_period = "varying", clustervars = "area",
                                 weightsname = "w", bstrap = TRUE, cband = TRUE, biters = 20000))
  rows[[length(rows) + 1]] <- data.frame(seed = seed, what = "att_gt", key = paste(res$group, res$t),
                                         se = res$se, crit = res$c)
  for (type in c("simple", "dynamic", "group", "calendar")) {
    set.seed(100 + seed)
    a <- suppressWarnings(aggte(res, type = type, bstrap = TRUE, cband = TRUE, biters = 20000,
                                clustervars = "area", na.rm = TRUE))
    rows[[length(rows) + 1]] <- data.frame(seed = seed, what = type, key = "overall",
                                           se = a$overall.se, crit = NA)
    if (type != "simple") {
      rows[[length(rows) + 1]] <- data.frame(seed = seed, what = type, key = as.character(a$egt),
                                             se = a$se.egt, crit = a$crit.val.egt)
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "did_rcs_bootstrap.csv"), row.names = FALSE)
print(aggregate(crit ~ what, data = out, FUN = function(x) c(mean = mean(x), sd = sd(x))))
