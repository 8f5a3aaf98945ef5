//! JUnit XML for CI dashboards (quick-junit): one test case per scenario.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub time: Duration,
    /// Empty when it passed.
    pub failures: Vec<String>,
}

pub fn render(results: &[CaseResult]) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("rtc-assist scenarios");
    for r in results {
        let status = if r.failures.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.failures[0].clone()).set_description(r.failures.join("\n"));
            s
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_time(r.time).set_classname("scenario");
        suite.add_test_case(case);
    }
    let mut report = Report::new("rtc-assist");
    report.add_test_suite(suite);
    report.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_escaping_survive() {
        let xml = render(&[
            CaseResult { name: "ok".into(), time: Duration::from_millis(1500), failures: vec![] },
            CaseResult {
                name: "bad".into(),
                time: Duration::ZERO,
                failures: vec!["expected <x> & \"y\"".into()],
            },
        ])
        .unwrap();
        assert!(xml.contains("tests=\"2\"") && xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("&lt;x&gt; &amp;"), "{xml}");
    }
}
