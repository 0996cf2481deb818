//! Tab completion for the `:` command line: the command word, then its
//! argument (a theme, a keymap, a column, a context, an instance name).

/// The `:` commands that complete, in the order they are offered.
pub const COMMANDS: &[&str] = &[
    "instances",
    "events",
    "dump",
    "ctx",
    "i",
    "theme",
    "keymap",
    "sort",
    "at",
    "now",
    "help",
    "q",
];

/// Commands that take an argument (completion adds a space after them).
const TAKES_ARG: &[&str] = &["dump", "ctx", "i", "theme", "keymap", "sort", "at"];

/// What tab did: the new line, and the choices when more than one fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub candidates: Vec<String>,
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut prefix: &str = first;
    for s in &items[1..] {
        let n: usize = prefix
            .chars()
            .zip(s.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        prefix = &prefix[..n];
    }
    prefix.to_string()
}

/// Complete `line` (without the `:`). `args_for(command)` lists what the
/// command's argument may be.
pub fn complete(line: &str, args_for: &dyn Fn(&str) -> Vec<String>) -> Completion {
    let unchanged = || Completion {
        text: line.to_string(),
        candidates: Vec::new(),
    };
    match line.split_once(' ') {
        None => {
            let fits: Vec<String> = COMMANDS
                .iter()
                .filter(|c| c.starts_with(line))
                .map(|c| c.to_string())
                .collect();
            match fits.as_slice() {
                [] => unchanged(),
                [one] => Completion {
                    text: if TAKES_ARG.contains(&one.as_str()) {
                        format!("{one} ")
                    } else {
                        one.clone()
                    },
                    candidates: Vec::new(),
                },
                _ => Completion {
                    text: common_prefix(&fits),
                    candidates: fits,
                },
            }
        }
        Some((cmd, rest)) => {
            let partial = rest.trim_start();
            if partial.contains(' ') {
                return unchanged();
            }
            let mut fits: Vec<String> = args_for(cmd)
                .into_iter()
                .filter(|a| a.starts_with(partial))
                .collect();
            fits.sort();
            fits.dedup();
            match fits.as_slice() {
                [] => unchanged(),
                [one] => Completion {
                    text: format!("{cmd} {one}"),
                    candidates: Vec::new(),
                },
                _ => Completion {
                    text: format!("{cmd} {}", common_prefix(&fits)),
                    candidates: fits,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &str) -> Vec<String> {
        match cmd {
            "theme" => vec!["default".into(), "dracula".into(), "light".into()],
            "i" => vec!["web-a".into(), "web-b".into(), "files".into()],
            _ => Vec::new(),
        }
    }

    #[test]
    fn commands_complete_and_list_choices() {
        assert_eq!(complete("du", &args).text, "dump ");
        assert_eq!(complete("ev", &args).text, "events");
        let c = complete("in", &args);
        assert_eq!(c.text, "instances");
        // "i" is a command and a prefix of "instances": both offered.
        let c = complete("i", &args);
        assert_eq!(c.text, "i");
        assert_eq!(c.candidates, vec!["instances", "i"]);
        assert_eq!(complete("zz", &args).text, "zz");
        assert!(complete("zz", &args).candidates.is_empty());
    }

    #[test]
    fn arguments_complete_from_the_command() {
        assert_eq!(complete("theme li", &args).text, "theme light");
        assert_eq!(complete("theme d", &args).text, "theme d");
        assert_eq!(
            complete("theme d", &args).candidates,
            vec!["default", "dracula"]
        );
        let c = complete("i web", &args);
        assert_eq!(c.text, "i web-");
        assert_eq!(c.candidates, vec!["web-a", "web-b"]);
        assert_eq!(complete("i f", &args).text, "i files");
        assert_eq!(complete("sort x", &args).text, "sort x");
        assert_eq!(complete("theme a b", &args).text, "theme a b");
    }
}
