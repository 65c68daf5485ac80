//! Diagnostics to text, JSON, SARIF 2.1.0, JUnit XML and HTML
