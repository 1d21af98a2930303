# Exact posterior references for the normal-normal random-effects model, from R's bayesmeta 3.4
# (Roever 2020, doi:10.18637/jss.v093.i06) densities, integrated here at tight tolerance (issue 16).
#
# bayesmeta is not on Debian: build it (and forestplot 3.1.6) from the cran/ GitHub mirrors with
# `R CMD INSTALL -l /tmp/Rlib <dir>`, then run from this directory:
#     R_LIBS=/tmp/Rlib Rscript bayesmeta_cases.R          (writes bayesmeta_cases.json)
#
# bayesmeta's own summaries of mu and theta_new come from a grid mixture (its "DIRECT" support,
# delta = 0.01), off by up to ~5e-3 posterior sd, and its constructor takes minutes for k ~ 60.
# So this script uses bayesmeta's OWN density code (dprior, likelihood, dposterior of tau,
# cond.moment: mu | tau, y ~ Normal(mean(tau), sd(tau))), taken from the first statements of
# bayesmeta.default (everything up to the normalising constant, plus cond.moment), and integrates:
#   p(tau | y)            = dposterior(tau) / Z,  Z = integral over [0, Inf)
#   P(mu <= x | y)        = int p(tau | y) pnorm(x, mean(tau), sd(tau)) dtau
#   P(theta_new <= x | y) = int p(tau | y) pnorm(x, mean(tau), sqrt(sd(tau)^2 + tau^2)) dtau
# with integrate() (rel.tol 1e-12, split at posterior quantiles of tau) and uniroot (tol 1e-13
# relative to the scale). Moments are integrated only where they exist (see `exists`).
.libPaths(c("/tmp/Rlib", .libPaths()))
suppressMessages({library(bayesmeta); library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             bayesmeta = as.character(packageVersion("bayesmeta")),
             metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             script = "bayesmeta_cases.R",
             model = "y_i ~ Normal(theta_i, sigma_i^2), theta_i ~ Normal(mu, tau^2); theta_new ~ Normal(mu, tau^2) (posterior predictive)",
             notes = I(c(
               "tau priors (bayesmeta's tau.prior): uniform = improper uniform on [0, Inf) (PyMC HalfFlat); Jeffreys = bayesmeta 'Jeffreys', density sqrt(sum_i (tau / (sigma_i^2 + tau^2))^2), improper, data-dependent; halfcauchy_0.5 = dhalfcauchy(scale = 0.5); halfnormal_0.5 = dhalfnormal(scale = 0.5); DuMouchel = s0 / (s0 + tau)^2 with s0^2 = k / sum(1/sigma_i^2); shrinkage = 2 tau s0^2 / (s0^2 + tau^2)^2; I2 = uniform on I^2 with sigma2hat of Higgins & Thompson (2002).",
               "mu priors: flat = improper uniform on the real line (bayesmeta's default, mu.prior.mean = NA); normal_0_4 = Normal(mean 0, sd 4).",
               "Posterior propriety and moments: as tau -> Inf the posterior density of tau decays like tau^-a with a = b + (k - 1) (flat mu) or b + k (normal mu), b the prior's tail exponent (uniform 0, Jeffreys 1, half-Cauchy 2, DuMouchel 2, shrinkage 3, I2 3, half-normal Inf). Proper iff a > 1; E[tau^r] finite iff a - r > 1. mu: under the flat prior sd(mu | tau) grows like tau / sqrt(k), so mean(mu) exists iff E[tau] does and sd(mu) iff E[tau^2] does; under the normal prior both always exist. theta_new: mean iff E[tau], sd iff E[tau^2]. Moments that do not exist are null with exists = false.",
               "log_marginal_likelihood: log of int p(tau) p(y | tau) dtau with p(y | tau) integrated over mu against the normal prior (bayesmeta's likelihood(tau) and normalised dprior(tau)); null unless both priors are proper.",
               "bayesmeta_check (some small data sets): bayesmeta's own full fit at default settings: tau quantiles from its qposterior and its marginal.likelihood, for comparison with the integration here.",
               "Quantiles are at probabilities 0.025, 0.5, 0.975 (equal-tailed).")))

## bayesmeta's own density code, without the costly summaries -------------------------------
make_densities <- local({
  f <- bayesmeta:::bayesmeta.default
  bd <- as.list(body(f))
  txt <- vapply(bd, function(e) paste(deparse(e)[1], collapse = ""), "")
  i_int <- which(grepl("^integral <- 1", txt))[1]
  i_cm <- which(grepl("^conditionalmoment <- function", txt))[1]
  stopifnot(!is.na(i_int), !is.na(i_cm))
  newbody <- as.call(c(as.name("{"), bd[2:i_int], bd[i_cm],
                       quote(list(dprior = dprior, likelihood = likelihood, dposterior = dposterior,
                                  cond.moment = conditionalmoment, tau.prior.proper = tau.prior.proper,
                                  k = k))))
  body(f) <- newbody
  f
})

tau_priors <- list(
  uniform = list(arg = "uniform", b = 0),
  Jeffreys = list(arg = "Jeffreys", b = 1),
  halfcauchy_0.5 = list(arg = function(t) dhalfcauchy(t, scale = 0.5), b = 2),
  halfnormal_0.5 = list(arg = function(t) dhalfnormal(t, scale = 0.5), b = Inf),
  DuMouchel = list(arg = "DuMouchel", b = 2),
  shrinkage = list(arg = "shrinkage", b = 3),
  I2 = list(arg = "I2", b = 3))
mu_priors <- list(flat = c(mean = NA, sd = NA), normal_0_4 = c(mean = 0, sd = 4))

RT <- 1e-12
LOWPREC <- 0   # integrals that reached only the fallback tolerance, counted per case
integ <- function(fun, lo, hi, rel = RT) {
  for (tol in unique(c(rel, 1e-11, 1e-10))) {
    r <- tryCatch(integrate(fun, lo, hi, rel.tol = tol, abs.tol = 0, subdivisions = 2000L),
                  error = function(e) NULL)
    if (!is.null(r)) return(r$value)
  }
  # integrands are probability densities (times bounded or moment functions): an absolute
  # tolerance of 1e-15 is then far below the reported digits
  r <- tryCatch(integrate(fun, lo, hi, rel.tol = 1e-10, abs.tol = 1e-15, subdivisions = 5000L),
                error = function(e) NULL)
  if (!is.null(r)) return(r$value)
  LOWPREC <<- LOWPREC + 1
  integrate(fun, lo, hi, rel.tol = 1e-8, abs.tol = 1e-15, subdivisions = 5000L, stop.on.error = FALSE)$value
}
# quantile: a rough root (low precision), then Newton steps on the exact CDF with its density
solve_q <- function(F, f, Frough, p, lo, hi, positive = FALSE) {
  while (Frough(lo) > p) { lo <- if (positive) lo / 2 else lo - (hi - lo) }
  while (Frough(hi) < p) hi <- hi + (hi - lo)
  x <- uniroot(function(z) Frough(z) - p, c(lo, hi), tol = 1e-7 * (hi - lo))$root
  scale <- hi - lo
  for (i in 1:30) {
    step <- (F(x) - p) / f(x)
    if (!is.finite(step)) break
    xn <- x - step
    if (positive && xn <= 0) xn <- x / 2
    if (abs(xn - x) <= 1e-14 * max(abs(x), 1e-300) + 1e-15 * scale) return(xn)
    x <- xn
  }
  # fallback: plain uniroot on the exact CDF
  uniroot(function(z) F(z) - p, c(lo, hi), tol = 1e-13 * scale)$root
}

compute_case <- function(y, sigma, tp, mp) {
  k <- length(y)
  a <- tp$b + (k - 1) + (if (is.na(mp["mean"])) 0 else 1)
  proper <- a > 1
  res <- list(k = k, tail_exponent_a = if (is.finite(a)) a else "Inf", proper = proper)
  ex_tau <- function(r) a - r > 1
  res$exists <- list(tau_mean = ex_tau(1), tau_sd = ex_tau(2),
                     mu_mean = if (is.na(mp["mean"])) ex_tau(1) else TRUE,
                     mu_sd = if (is.na(mp["mean"])) ex_tau(2) else TRUE,
                     theta_new_mean = ex_tau(1), theta_new_sd = ex_tau(2))
  if (!proper) return(res)
  d <- make_densities(y = y, sigma = sigma, tau.prior = tp$arg,
                      mu.prior.mean = unname(mp["mean"]), mu.prior.sd = unname(mp["sd"]))
  up <- function(t) d$dposterior(tau = t)            # unnormalised p(tau | y)
  # breakpoints: rough quantiles from a first pass
  Z0 <- integ(up, 0, Inf, 1e-8)
  cdf0 <- function(x) integ(up, 0, x, 1e-8) / Z0
  qs0 <- sapply(c(1e-4, 0.01, 0.1, 0.5, 0.9, 0.99, 0.9999), function(p) {
    hi <- 1; while (cdf0(hi) < p) hi <- hi * 2
    uniroot(function(x) cdf0(x) - p, c(0, hi), tol = 1e-6 * hi)$root })
  br <- unique(c(0, qs0[qs0 > 0], Inf))
  seg_int <- function(fun, lo = 0, hi = Inf, rel = RT) {
    s <- 0
    for (j in seq_len(length(br) - 1)) {
      l <- max(br[j], lo); h <- min(br[j + 1], hi)
      if (h > l) s <- s + integ(fun, l, h, rel)
    }
    s
  }
  Z <- seg_int(up)
  post <- function(t) up(t) / Z
  tau_cdf <- function(x) seg_int(post, 0, x)
  tau_q <- sapply(c(0.025, 0.5, 0.975), function(p)
    solve_q(tau_cdf, post, function(x) seg_int(post, 0, x, 1e-8), p, 0, max(qs0) * 2, positive = TRUE))
  cm <- function(t, predict = FALSE) d$cond.moment(tau = t, predict = predict)
  gen_cdf <- function(x, predict, rel = RT) seg_int(function(t) {
    m <- cm(t, predict); post(t) * pnorm(x, m[, "mean"], m[, "sd"]) }, rel = rel)
  gen_pdf <- function(x, predict) seg_int(function(t) {
    m <- cm(t, predict); post(t) * dnorm(x, m[, "mean"], m[, "sd"]) })
  gen_q <- function(p, predict) {
    m <- cm(qs0[4], predict); c0 <- m[1, "mean"]; s0 <- m[1, "sd"]
    solve_q(function(x) gen_cdf(x, predict), function(x) gen_pdf(x, predict),
            function(x) gen_cdf(x, predict, 1e-8), p, c0 - 5 * s0, c0 + 5 * s0)
  }
  res$tau_q <- arr(tau_q)
  res$mu_q <- arr(sapply(c(0.025, 0.5, 0.975), gen_q, predict = FALSE))
  res$theta_new_q <- arr(sapply(c(0.025, 0.5, 0.975), gen_q, predict = TRUE))
  mom <- function(fun) seg_int(function(t) post(t) * fun(t))
  if (res$exists$tau_mean) res$tau_mean <- mom(function(t) t)
  if (res$exists$tau_sd) res$tau_sd <- sqrt(mom(function(t) t^2) - res$tau_mean^2)
  if (res$exists$mu_mean) res$mu_mean <- mom(function(t) cm(t)[, "mean"])
  if (res$exists$mu_sd) res$mu_sd <- sqrt(mom(function(t) { m <- cm(t); m[, "sd"]^2 + m[, "mean"]^2 }) - res$mu_mean^2)
  if (res$exists$theta_new_mean) res$theta_new_mean <- res$mu_mean %||% mom(function(t) cm(t)[, "mean"])
  if (res$exists$theta_new_sd) res$theta_new_sd <- sqrt(mom(function(t) { m <- cm(t); m[, "sd"]^2 + t^2 + m[, "mean"]^2 }) - res$theta_new_mean^2)
  res$P_mu_gt_0 <- 1 - gen_cdf(0, FALSE)
  if (d$tau.prior.proper && !is.na(mp["mean"])) {
    ml <- seg_int(function(t) d$likelihood(tau = t) * d$dprior(tau = t))
    res$log_marginal_likelihood <- log(ml)
  } else res$log_marginal_likelihood <- NA
  res
}
`%||%` <- function(a, b) if (is.null(a)) b else a
arr <- function(x) I(unname(as.numeric(x)))

## data sets ----------------------------------------------------------------------------------
data("CrinsEtAl2014", "RobergeEtAl2017", "Rubin1981", package = "bayesmeta")
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
crins <- escalc("OR", ai = exp.AR.events, n1i = exp.total, ci = cont.AR.events, n2i = cont.total, data = CrinsEtAl2014)
rob <- escalc("OR", ai = asp.PE.events, n1i = asp.PE.total, ci = cont.PE.events, n2i = cont.PE.total,
              data = RobergeEtAl2017, subset = complete.cases(RobergeEtAl2017[, 7:10]))
rob <- rob[!is.na(rob$yi), ]
land <- escalc("OR", ai = n.ctrl.rec, bi = n.ctrl.non, ci = n.cbt.rec, di = n.cbt.non, data = dat.landenberger2005)
norm <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
hack <- dat.hackshaw1998
datasets <- list(
  bcg_k1 = list(y = bcg$yi[1], sigma = sqrt(bcg$vi[1]), source = "dat.bcg trial 1, log risk ratio (escalc RR)"),
  bcg_k2 = list(y = bcg$yi[1:2], sigma = sqrt(bcg$vi[1:2]), source = "dat.bcg trials 1-2, log risk ratios"),
  bcg_k3 = list(y = bcg$yi[1:3], sigma = sqrt(bcg$vi[1:3]), source = "dat.bcg trials 1-3, log risk ratios"),
  crins2014 = list(y = crins$yi, sigma = sqrt(crins$vi), source = "bayesmeta CrinsEtAl2014: log odds ratios of acute rejection (escalc OR, exp.AR.events/exp.total vs cont.AR.events/cont.total; 0.5 added to the zero-cell study), k = 6"),
  rubin1981 = list(y = Rubin1981$effect, sigma = Rubin1981$stderr, source = "bayesmeta Rubin1981 (eight schools): effect, stderr"),
  normand1999 = list(y = norm$yi, sigma = sqrt(norm$vi), source = "dat.normand1999, raw mean differences in days (escalc MD)"),
  hackshaw1998 = list(y = hack$yi, sigma = sqrt(hack$vi), source = "dat.hackshaw1998, log odds ratios (yi, vi as given), k = 37"),
  roberge2017 = list(y = rob$yi, sigma = sqrt(rob$vi), source = "bayesmeta RobergeEtAl2017, pre-eclampsia log odds ratios (escalc OR, complete cases, as in bayesmeta's example)"),
  landenberger2005 = list(y = land$yi, sigma = sqrt(land$vi), source = "dat.landenberger2005, log odds ratios of recidivism (escalc OR: ai = n.ctrl.rec, bi = n.ctrl.non, ci = n.cbt.rec, di = n.cbt.non), k = 58"))
check_sets <- c("bcg_k3", "crins2014")
extra_prior_sets <- c("bcg_k2", "bcg_k3", "crins2014", "rubin1981", "roberge2017")

only <- Sys.getenv("BM_ONLY")          # optional: comma-separated data set names (for partial runs)
sets <- if (nzchar(only)) strsplit(only, ",")[[1]] else names(datasets)

outfile <- "bayesmeta_cases.json"
cases <- list()
if (nzchar(only) && file.exists(outfile)) {
  old <- fromJSON(outfile, simplifyVector = FALSE)
  cases <- Filter(function(c) !(c$dataset %in% sets), old$cases)
}
for (dn in sets) {
  ds <- datasets[[dn]]
  pri <- if (dn %in% extra_prior_sets) names(tau_priors) else names(tau_priors)[1:4]
  if (dn == "bcg_k1") pri <- setdiff(pri, "I2")
  for (tn in pri) for (mn in names(mu_priors)) {
    t0 <- proc.time()[["elapsed"]]
    LOWPREC <- 0
    r <- tryCatch(compute_case(as.numeric(ds$y), as.numeric(ds$sigma), tau_priors[[tn]], mu_priors[[mn]]),
                  error = function(e) list(error = conditionMessage(e)))
    r$low_precision_integrals <- LOWPREC
    if (dn %in% check_sets && isTRUE(r$proper)) {
      mp <- mu_priors[[mn]]
      b <- tryCatch(suppressWarnings(bayesmeta(as.numeric(ds$y), as.numeric(ds$sigma), tau.prior = tau_priors[[tn]]$arg,
                                               mu.prior.mean = unname(mp["mean"]), mu.prior.sd = unname(mp["sd"]))),
                    error = function(e) NULL)
      if (!is.null(b)) r$bayesmeta_check <- list(
        tau_q = arr(b$qposterior(tau.p = c(0.025, 0.5, 0.975))),
        log_marginal_likelihood = if (is.na(b$marginal.likelihood)) NA else log(b$marginal.likelihood),
        default_summary_mu_median = b$summary["median", "mu"])
    }
    cat(sprintf("%s %s %s: %.1fs (low-precision integrals: %d)\n", dn, tn, mn, proc.time()[["elapsed"]] - t0, LOWPREC))
    cases[[length(cases) + 1]] <- list(
      name = paste(dn, tn, mn, sep = "__"), dataset = dn, tau_prior = tn, mu_prior = mn,
      mu_prior_mean = unname(mu_priors[[mn]]["mean"]), mu_prior_sd = unname(mu_priors[[mn]]["sd"]),
      source = ds$source, input = list(y = arr(ds$y), sigma = arr(ds$sigma)), expect = r)
  }
  writeLines(toJSON(list(meta = meta, cases = cases), digits = NA, auto_unbox = TRUE, na = "null"), outfile)
}
cat(length(cases), "cases\n")
