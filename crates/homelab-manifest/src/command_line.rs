//! Reading shell command lines found in a repository's scripts and documents (nothing is
//! run): the values of a command's options, as `kubectl` parses them.

/// The values of the options named `flags` among one command's words: `-f FILE`,
/// `--filename=FILE` (written either way), each with the flag as written and the index of
/// the word after the value (where an argument that spans words, such as `"$(cat FILE)"`,
/// goes on). Quotes are left as written. A flag at the end without a value gives nothing.
pub fn option_values<'w>(words: &[&'w str], flags: &[&str]) -> Vec<(&'w str, &'w str, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (flag, inline) = match words[i].split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (words[i], None),
        };
        i += 1;
        if !flags.contains(&flag) {
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => match words.get(i) {
                Some(v) => {
                    i += 1;
                    v
                }
                None => break,
            },
        };
        out.push((flag, value, i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::option_values;

    #[test]
    fn values_follow_their_flag_or_an_equals_sign() {
        let words: Vec<&str> = "apply -n web -f a.yaml --filename=b.yaml -f"
            .split_whitespace()
            .collect();
        assert_eq!(
            option_values(&words, &["-f", "--filename"]),
            [("-f", "a.yaml", 5), ("--filename", "b.yaml", 6)]
        );
        let words: Vec<&str> = r#"patch deploy/x -p "$(cat p.yaml)""#.split_whitespace().collect();
        assert_eq!(option_values(&words, &["-p"]), [("-p", "\"$(cat", 4)]);
        assert_eq!(words[4], "p.yaml)\"");
    }
}
