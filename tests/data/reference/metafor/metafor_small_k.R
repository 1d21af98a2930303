suppressMessages({library(metafor); library(jsonlite)})
out <- list()
add <- function(name, yi, vi, method, test, mods=NULL, data=NULL) {
  res <- try(if (is.null(mods)) rma(yi, vi, method=method, test=test) else rma(yi, vi, mods=mods, data=data, method=method, test=test), silent=TRUE)
  if (inherits(res, "try-error")) { out[[name]] <<- list(error=as.character(res)); return() }
  e <- list(beta=as.vector(res$beta), se=res$se, ci_lb=res$ci.lb, ci_ub=res$ci.ub, stat=res$zval, pval=res$pval,
            tau2=res$tau2, QE=res$QE, QEp=res$QEp, QM=res$QM, QMp=res$QMp, I2=res$I2, H2=res$H2, k=res$k)
  if (method != "FE") {
    e$se_tau2 <- res$se.tau2
    ci <- try(confint(res), silent=TRUE)
    if (!inherits(ci, "try-error")) { e$tau2_ci <- as.vector(ci$random["tau^2", 2:3]); e$I2_ci <- as.vector(ci$random["I^2(%)", 2:3]) }
  }
  if (is.null(mods)) { p <- predict(res); e$pi_lb <- p$pi.lb; e$pi_ub <- p$pi.ub }
  out[[name]] <<- list(method=method, test=test, yi=yi, vi=vi, expect=e)
}
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
for (m in c("FE","DL","REML","ML","PM","HS","SJ","HE","EB")) for (t in c("z","knha","adhoc")) {
  add(paste("bcg_k3", m, t, sep="_"), dat$yi[1:3], dat$vi[1:3], m, t)
  add(paste("bcg_k2", m, t, sep="_"), dat$yi[c(4,6)], dat$vi[c(4,6)], m, t)
  add(paste("bcg_k5", m, t, sep="_"), dat$yi[c(2,5,7,9,12)], dat$vi[c(2,5,7,9,12)], m, t)
}
# landenberger log odds ratios, k = 58, all methods
dl <- escalc("OR", ai=n.cbt.non, bi=n.cbt.rec, ci=n.ctrl.non, di=n.ctrl.rec, data=dat.landenberger2005)
for (m in c("DL","REML","PM","SJ")) add(paste("landenberger", m, sep="_"), dl$yi, dl$vi, m, "z")
# subgroup: separate fits per level and Q-between from FE meta-analysis of the estimates
sub <- list()
for (lv in sort(unique(dl$setting))) { r <- rma(yi, vi, data=dl, subset=setting==lv, method="REML"); sub[[lv]] <- list(estimate=as.vector(r$beta), se=r$se, tau2=r$tau2, k=r$k) }
est <- sapply(sub, function(s) s$estimate); se <- sapply(sub, function(s) s$se)
qb <- rma(est, sei=se, mods=~factor(names(sub)), method="FE")
mixed <- rma(yi, vi, mods=~factor(setting), data=dl, method="REML")
out$landenberger_subgroup_setting <- list(groups=sub, Q_between=qb$QM, Q_between_p=qb$QMp, mixed_QM=mixed$QM, mixed_QMp=mixed$QMp, mixed_beta=as.vector(mixed$beta))
cat(toJSON(list(meta=list(source=paste(R.version.string, "metafor", packageVersion("metafor")), script="tests/data/README.md"), cases=out), digits=NA, auto_unbox=TRUE, null="null", na="null"))
