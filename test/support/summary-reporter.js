// Writes the run's totals where .ci/run can read them: the landing check wants one plain
// "N passed, N failed" line, and unit and e2e runs are separate jest invocations.
const { appendFileSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.CBK_TEST_SUMMARY_FILE;
    if (!file) return;
    const line = `${results.numPassedTests} ${results.numFailedTests + results.numRuntimeErrorTestSuites} ${results.numPendingTests + results.numTodoTests}\n`;
    appendFileSync(file, line);
  }
}

module.exports = SummaryReporter;
