//! "Did you mean ...?" for misspelt field names and enum values.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = input.to_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(c);
    }
    let mut best: Option<(&'a str, f64)> = None;
    for &c in candidates {
        let distance = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
        let limit = (input.chars().count().max(c.chars().count()) / 3).max(1);
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        if (distance <= limit || score >= 0.9) && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_case_slips() {
        let names = ["containers", "initContainers", "volumes", "nodeSelector"];
        assert_eq!(closest("contianers", &names), Some("containers"));
        assert_eq!(closest("Volumes", &names), Some("volumes"));
        assert_eq!(closest("nodeselector", &names), Some("nodeSelector"));
        assert_eq!(closest("zzz", &names), None);
    }
}
