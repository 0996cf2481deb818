//! The detail view's incident key: everything about the instance over
//! the last hour (up to now, or from an hour before the moment shown when
//! travelling) written to one bundle, off the UI thread.

use super::{App, Command, Level, Screen};
use chrono::Duration;

impl App {
    pub(super) fn incident(&mut self) -> Vec<Command> {
        let Screen::Detail(d) = self.screen() else {
            return Vec::new();
        };
        let id = d.id;
        let name = self
            .projection
            .get(&id)
            .map_or_else(|| id.to_string(), |i| i.name.clone());
        let from = self.travel().map_or(self.now, |t| t.at) - Duration::hours(1);
        self.toast(
            Level::Info,
            format!(
                "writing an incident bundle of {} from {} to now…",
                crate::domain::text::shown(&name),
                from.format("%H:%M:%S UTC")
            ),
        );
        vec![Command::Incident {
            id,
            name,
            from,
            to: self.now,
        }]
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::app::{Command, Screen};
    use crate::tui::fixtures;
    use crate::tui::keymap::{Action, Keymap};
    use crate::tui::theme::Theme;

    #[test]
    fn the_key_asks_for_the_last_hour_of_the_detail_instance() {
        let mut a = fixtures::app(
            Theme::preset("default").unwrap(),
            Keymap::preset("default").unwrap(),
        );
        assert!(a.action(Action::Incident).is_empty(), "not in the table");
        a.action(Action::Open);
        let Screen::Detail(d) = a.screen() else {
            panic!("no detail open");
        };
        let first = a.projection.get(&d.id).unwrap().clone();
        let cmds = a.action(Action::Incident);
        let [Command::Incident { id, name, from, to }] = cmds.as_slice() else {
            panic!("{cmds:?}");
        };
        assert_eq!((*id, name.as_str()), (first.id, first.name.as_str()));
        assert_eq!(*to - *from, chrono::Duration::hours(1));
        assert!(
            a.toast
                .as_ref()
                .unwrap()
                .text
                .contains("writing an incident bundle")
        );
    }
}
