# RoBMA 3.6.1 reference for bayesma's bm.robma: a small simulated data set with negative effects.
# Run: Rscript tests/data/reference/robma/robma_heldout_negative.R  (writes robma_heldout_negative.json beside it)
# Needs RoBMA 3.6.1, BayesTools 0.2.22, runjags 2.2.2-5 (built from source) and Debian's jags, r-cran-rjags,
# r-cran-bridgesampling, r-cran-jsonlite (see README.md).
suppressPackageStartupMessages({library(RoBMA); library(jsonlite)})
# 14 Cohen's d from a simulation (numpy seed 2026: true mean -0.25, tau 0.15, significant negative
# results always published, others with probability 0.35)
d  <- c(-0.513923, -0.697717, -0.586478, -0.397716, -0.585344, 0.020341, -0.700050, -0.178002, -0.768478, -0.187736, -0.357712, -0.460070, 0.303927, -0.477728)
se <- c(0.198376, 0.439183, 0.224198, 0.269890, 0.393056, 0.264913, 0.224802, 0.270213, 0.204210, 0.201450, 0.196735, 0.219781, 0.373529, 0.188325)
t0 <- Sys.time()
fit <- RoBMA(d = d, se = se, effect_direction = "negative", seed = 1, chains = 3, sample = 4000,
             burnin = 1500, parallel = FALSE)
wall <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
s  <- summary(fit)
sm <- summary(fit, type = "models")$summary
comp <- s$components
est  <- s$estimates
out <- list(
  description = paste("RoBMA 3.6.1 (JAGS 4.3.1) default RoBMA-PSMA ensemble on 14 simulated Cohen's d with",
                      "negative effects, effect_direction = 'negative', seed 1, 3 chains x 4000 draws after 1500 burn-in."),
  robma_wall_s = wall,
  input = list(d = d, se = se),
  components = lapply(setNames(seq_len(nrow(comp)), rownames(comp)), function(i) list(
    prior_prob = comp[i, "prior_prob"], post_prob = comp[i, "post_prob"], inclusion_BF = comp[i, 4])),
  model_averaged_estimates = lapply(setNames(seq_len(nrow(est)), rownames(est)), function(i) list(
    Mean = est[i, "Mean"], Median = est[i, "Median"], `0.025` = est[i, "0.025"], `0.975` = est[i, "0.975"])),
  models = lapply(seq_len(nrow(sm)), function(i) list(
    Model = i, prior_prob = sm[i, "prior_prob"], marglik = sm[i, "marglik"], post_prob = sm[i, "post_prob"]))
)
write_json(out, sub("[.]R$", ".json", sub(".*=", "", grep("--file=", commandArgs(FALSE), value = TRUE))),
           auto_unbox = TRUE, digits = NA, pretty = TRUE)
