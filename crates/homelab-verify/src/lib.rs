//! Success criteria of the guide checked against a live cluster or a snapshot
