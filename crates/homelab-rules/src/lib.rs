//! Platform rules of the guide, one file per rule, each with its documentation
