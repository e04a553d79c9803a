// Prints the plain closing line "tests: N passed, N failed[, N skipped]" that CI reads.
import type { Reporter, TestCase } from 'vitest/node'

export default class SummaryLineReporter implements Reporter {
  private passed = 0
  private failed = 0
  private skipped = 0

  onTestCaseResult (testCase: TestCase): void {
    const state = testCase.result().state
    if (state === 'passed') this.passed++
    else if (state === 'failed') this.failed++
    else this.skipped++
  }

  onTestRunEnd (): void {
    process.stdout.write(`\ntests: ${this.passed} passed, ${this.failed} failed${this.skipped > 0 ? `, ${this.skipped} skipped` : ''}\n`)
  }
}
