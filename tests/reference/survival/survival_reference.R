# Reference values for dwp_eval.survival_effect from R's survival package (Debian r-cran-survival).
# Rerun:  cd tests/reference/survival && Rscript survival_reference.R
# Writes r_km.csv (Kaplan-Meier by arm, conf.type = "log-log"), r_scalar.csv (Cox, log-rank, RMST)
# and r_km_influence_rmst.csv (cluster-robust RMST variance from survfit's influence).
#
# RMST: survRM2 is not in Debian, so the RMST is the integral of survfit's step function up to
# the horizon written here in R, with its Greenwood-type SE sum_k A_k^2 d_k / (Y_k (Y_k - d_k)),
# A_k = int_{t_k}^tau S(u) du; it is also checked against survival's own
# summary(fit, rmean = tau)$table ("rmean", "se(rmean)").
# Cluster-robust RMST: survfit(..., cluster = , influence = TRUE) returns the per-cluster
# influence of S(t) (infinitesimal jackknife); integrating it over [0, tau] gives each cluster's
# influence on the RMST, and the sum of their squares is the (uncorrected) robust variance.
suppressMessages(library(survival))
tau <- 365
scalar <- data.frame(dataset = character(), quantity = character(), value = numeric())
put <- function(ds, q, v) scalar[nrow(scalar) + 1, ] <<- list(ds, q, v)

rmst_step <- function(time, surv, tau) {
  keep <- time <= tau
  t <- c(0, time[keep], tau)
  s <- c(1, surv[keep])
  sum(s * diff(t))
}
rmst_greenwood <- function(fit, tau) {
  keep <- fit$time <= tau & fit$n.event > 0
  t <- fit$time[keep]; s <- fit$surv[keep]; d <- fit$n.event[keep]; y <- fit$n.risk[keep]
  tt <- c(t, tau)
  # A_k = area under S from t_k to tau
  A <- rev(cumsum(rev(s * diff(tt))))
  sum(A^2 * d / (y * (y - d)))
}
rmst_influence <- function(fit, tau) {
  # fit$influence.surv: clusters x times, the influence of each cluster on S(t)
  keep <- fit$time <= tau
  t <- c(0, fit$time[keep], tau)
  infl <- cbind(0, fit$influence.surv[, keep, drop = FALSE])
  as.vector(infl %*% diff(t))
}

km_rows <- list()
datasets <- c("individual", "cluster", "nested")
for (ds in datasets) {
  d <- read.csv(paste0(ds, ".csv"), stringsAsFactors = FALSE)
  d$z <- as.integer(d$arm == "treatment")
  for (a in c("control", "treatment")) {
    sub <- d[d$arm == a, ]
    fit <- survfit(Surv(duration, event) ~ 1, data = sub, conf.type = "log-log")
    km_rows[[length(km_rows) + 1]] <- data.frame(
      dataset = ds, arm = a, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
      n_censor = fit$n.censor, survival = fit$surv, std_error = fit$surv * fit$std.err,
      conf_low = fit$lower, conf_high = fit$upper)
    put(ds, paste0("rmst_", a), rmst_step(fit$time, fit$surv, tau))
    put(ds, paste0("rmst_var_", a), rmst_greenwood(fit, tau))
    tab <- summary(fit, rmean = tau)$table
    put(ds, paste0("rmean_survival_", a), tab[["rmean"]])
    put(ds, paste0("rmean_se_survival_", a), tab[["se(rmean)"]])
    # the influence-function (infinitesimal jackknife) variance, one person per cluster
    fi <- survfit(Surv(duration, event) ~ 1, data = sub, id = id, influence = TRUE)
    put(ds, paste0("rmst_ij_var_", a), sum(rmst_influence(fi, tau)^2))
    cl <- if (ds == "cluster") sub$office else if (ds == "nested") sub$nest_id else NULL
    if (!is.null(cl)) {
      sub$cl <- cl
      fc <- survfit(Surv(duration, event) ~ 1, data = sub, cluster = cl, influence = TRUE)
      put(ds, paste0("rmst_cluster_var_", a), sum(rmst_influence(fc, tau)^2))
      put(ds, paste0("n_clusters_", a), nrow(fc$influence.surv))
    }
  }
  # per stratum (the stratified RMST is their stratum-size-weighted mean)
  if (ds == "individual") {
    for (st in sort(unique(d$stratum))) for (a in c("control", "treatment")) {
      fs <- survfit(Surv(duration, event) ~ 1, data = d[d$stratum == st & d$arm == a, ])
      put(ds, paste0("rmst_", st, "_", a), rmst_step(fs$time, fs$surv, tau))
      put(ds, paste0("rmst_var_", st, "_", a), rmst_greenwood(fs, tau))
      put(ds, paste0("n_", st), sum(d$stratum == st))
    }
  }
  # log-rank
  lr <- survdiff(Surv(duration, event) ~ z, data = d)
  put(ds, "logrank_chisq", lr$chisq)
  put(ds, "logrank_p", pchisq(lr$chisq, 1, lower.tail = FALSE))
  if ("stratum" %in% names(d)) {
    lrs <- survdiff(Surv(duration, event) ~ z + strata(stratum), data = d)
    put(ds, "logrank_strata_chisq", lrs$chisq)
    put(ds, "logrank_strata_p", pchisq(lrs$chisq, 1, lower.tail = FALSE))
  }
  # Cox, Efron ties
  add <- function(tag, fit) {
    put(ds, paste0(tag, "_coef"), coef(fit)[["z"]])
    put(ds, paste0(tag, "_se"), sqrt(fit$naive.var[1, 1]))
    put(ds, paste0(tag, "_robust_se"), sqrt(vcov(fit)[1, 1]))
  }
  addn <- function(tag, fit) {
    put(ds, paste0(tag, "_coef"), coef(fit)[["z"]])
    put(ds, paste0(tag, "_se"), sqrt(vcov(fit)[1, 1]))
  }
  addn("cox", coxph(Surv(duration, event) ~ z, data = d, ties = "efron"))
  add("cox_robust", coxph(Surv(duration, event) ~ z, data = d, ties = "efron", robust = TRUE))
  if (ds == "individual") {
    add("cox_cov_robust", coxph(Surv(duration, event) ~ z + x1 + x2, data = d, ties = "efron", robust = TRUE))
    add("cox_strata_robust", coxph(Surv(duration, event) ~ z + x1 + x2 + strata(stratum), data = d,
                                   ties = "efron", robust = TRUE))
  }
  if (ds == "cluster") {
    add("cox_cluster", coxph(Surv(duration, event) ~ z + x1, data = d, ties = "efron", cluster = office))
    add("cox_strata_cluster", coxph(Surv(duration, event) ~ z + x1 + strata(stratum), data = d,
                                    ties = "efron", cluster = office))
  }
  if (ds == "nested") {
    add("cox_cluster", coxph(Surv(duration, event) ~ z, data = d, ties = "efron", cluster = nest_id))
  }
}
write.csv(do.call(rbind, km_rows), "r_km.csv", row.names = FALSE)
scalar$value <- sprintf("%.17g", scalar$value)
write.csv(scalar, "r_scalar.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "survival", as.character(packageVersion("survival")), "\n", file = "r_versions.txt")
