# The programs in examples/ build (make builds them) and do what their
# comments promise; they are what newcomers copy, so they must keep working.
. tests/shlib.sh
EX=${BUILD:-build}/examples

# number NAME REGEX FILE: the first number after REGEX on a line of FILE
number() { sed -n "s/.*$1 *\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

# ---- classify_csv: iris, a fifth held out, saved model usable by the CLI ----
expect_ok classify_csv_runs "$EX/classify_csv" tests/data/iris.csv species "$TMP/iris.safetensors"
acc=$(number 'accuracy' "$TMP/out")
check "classify_csv_heldout_accuracy_${acc}_at_least_0.9" awk "BEGIN { exit !(\"$acc\" + 0 >= 0.9) }"
check classify_csv_confusion grep -q '^  virginica ' "$TMP/out"
expect_ok classify_csv_model_info "$SOMA" info "$TMP/iris.safetensors"
check classify_csv_model_classes grep -Eq '^classes +3: setosa versicolor virginica$' "$TMP/out"
expect_ok classify_csv_model_eval "$SOMA" eval "$TMP/iris.safetensors" tests/data/iris.csv
expect_error classify_csv_bad_target 1 "no column 'kind'" "$EX/classify_csv" tests/data/iris.csv kind "$TMP/x.safetensors"
expect_error classify_csv_usage 2 "usage:" "$EX/classify_csv"

# ---- messy_table: a European export with missing values, both tasks ---------
expect_ok messy_table_classify "$EX/messy_table" tests/data/people.csv sex "$TMP/people.safetensors"
check messy_table_roles sh -c "grep -Eq '^name +ignored +identifier-like' '$TMP/out' && grep -Eq '^sport +categorical' '$TMP/out' && grep -Eq '^height_cm +numeric' '$TMP/out'"
acc=$(number 'training accuracy' "$TMP/out")
check "messy_table_accuracy_${acc}_at_least_0.9" awk "BEGIN { exit !(\"$acc\" + 0 >= 0.9) }"
expect_ok messy_table_model_predicts "$SOMA" predict "$TMP/people.safetensors" tests/data/people.csv --id name
check messy_table_model_header sh -c "head -1 '$TMP/out' | grep -qx 'name,predicted_sex,p_female,p_male'"
expect_ok messy_table_regress "$EX/messy_table" tests/data/people.csv shoe_size "$TMP/shoe.safetensors"
check messy_table_regress_task grep -q 'task: regress' "$TMP/out"
rmse=$(number 'training RMSE' "$TMP/out")
check "messy_table_rmse_${rmse}_below_2_sizes" awk "BEGIN { exit !(\"$rmse\" + 0 > 0 && $rmse < 2) }"
expect_error messy_table_bad_target 1 "no column 'size'" "$EX/messy_table" tests/data/people.csv size "$TMP/x.safetensors"

# ---- regression: petal width, far better than guessing the mean -------------
expect_ok regression_runs "$EX/regression"
rmse=$(number 'held-out RMSE' "$TMP/out")
base=$(number 'guessing the mean:' "$TMP/out")
check "regression_rmse_${rmse}_below_half_of_${base}" awk "BEGIN { exit !(\"$rmse\" + 0 > 0 && $rmse < $base / 2) }"
# an example with data of its own runs from any directory
here=$(pwd)
case $EX in /*) ex=$EX ;; *) ex=$here/$EX ;; esac
expect_ok regression_runs_from_elsewhere sh -c "cd '$TMP' && '$ex/regression'"
expect_ok regression_other_csv "$EX/regression" tests/data/iris.csv sepal_length species
expect_error regression_missing_file 1 "nope.csv" "$EX/regression" "$TMP/nope.csv" y

# ---- in_memory: a circle learned from arrays ---------------------------------
expect_ok in_memory_runs "$EX/in_memory"
acc=$(sed -n 's/.*training points, \([0-9.]*\) on.*/\1/p' "$TMP/out")
check "in_memory_new_points_accuracy_${acc}_at_least_0.95" awk "BEGIN { exit !(\"$acc\" + 0 >= 0.95) }"
# the drawing: 21 rows of 41, '#' in the middle, '.' in the corners
check in_memory_drawing sh -c "grep -c '^[#.]\{41\}\$' '$TMP/out' | grep -qx 21 &&
    sed -n '13p' '$TMP/out' | grep -q '^\.\{5,\}#\{15,\}\.\{5,\}\$'"

# ---- perceptron: the post's numbers -----------------------------------------
expect_ok perceptron_runs "$EX/perceptron"
check perceptron_prediction grep -q 'prediction for \[1, 0, 0\]: 0.99993' "$TMP/out"
