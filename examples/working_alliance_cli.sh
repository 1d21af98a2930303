#!/usr/bin/env bash
# The motivating analysis end to end on the command line, from ONE CSV of correlations.
#
# The data are ILLUSTRATIVE: invented correlations (r) between the working alliance and
# three outcomes of offender treatment -- dropout (k = 9), institutional misconduct (k = 3)
# and recidivism (k = 15) -- with sample sizes (n), who rated the alliance (rater) and the
# treatment setting. Realistic in size, but not the data of any published study.
#
# Usage: bash examples/working_alliance_cli.sh [OUTPUT_DIR]
# (set BAYESMA="python -m bayesma.cli" to run without the installed command)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="$HERE/data/working_alliance_illustrative.csv"
OUT="${1:-working-alliance-out}"
BAYESMA="${BAYESMA:-bayesma}"
mkdir -p "$OUT"

# 1. r with n -> Cohen's d and its sampling variance (Borenstein et al. 2009): measure R2D
$BAYESMA escalc R2D "$DATA" --ri r --ni n --slab study --out "$OUT/effects.csv"

# 2. frequentist: FE, random effects (REML), Q(df), p, I², tau², prediction interval per outcome
$BAYESMA rma "$OUT/effects.csv" --yi yi --vi vi --measure R2D --by outcome --out "$OUT/rma"

# 3. moderators of the recidivism effect: per-subgroup estimates and Q-between under FE and RE
for moderator in rater setting; do
  $BAYESMA subgroup "$OUT/effects.csv" --yi yi --vi vi --measure R2D --labels study \
    --subset "outcome == 'recidivism'" --by "$moderator" --out "$OUT/subgroup_$moderator"
done

# 4. the Bayesian re-analysis of every outcome: one combined table, a report per outcome, forest plots
$BAYESMA fit "$OUT/effects.csv" --yi yi --vi vi --labels study --measure R2D --by outcome \
  --engine exact --html --title "Working alliance and treatment outcomes (illustrative data)" \
  --out "$OUT/bayes"

# 5. misconduct has k = 3 studies: how much does the answer depend on the prior on tau?
$BAYESMA priors "$OUT/effects.csv" --yi yi --vi vi --labels study --measure R2D \
  --subset "outcome == 'misconduct'" --out "$OUT/priors_misconduct"

echo "Done: open $OUT/bayes/report.html"
