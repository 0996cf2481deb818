//! The elicitation form: a server asks the operator for input during a
//! tool call (`elicitation/create`). Its fields come from the requested
//! schema ([`crate::domain::elicit`]); the operator accepts (the answers
//! checked first), declines or cancels, and the answer goes back on the
//! request's reply channel. A secret field is masked while typed; what is
//! typed is kept only in this form and sent only to the server.

use super::*;
use crate::domain::elicit::{self, Field, SchemaError};
use crate::platform::{ElicitAnswer, ElicitRequest};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Where the operator's answer goes (the runtime's request waits on it).
/// Answered at most once; dropped unanswered, the server hears "cancel".
#[derive(Clone, Default)]
pub struct ElicitReply(Arc<Mutex<Option<oneshot::Sender<ElicitAnswer>>>>);

impl ElicitReply {
    pub fn new(tx: oneshot::Sender<ElicitAnswer>) -> ElicitReply {
        ElicitReply(Arc::new(Mutex::new(Some(tx))))
    }

    /// Send `answer` (once; later answers are dropped).
    pub fn send(&self, answer: ElicitAnswer) {
        if let Some(tx) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(answer);
        }
    }
}

impl std::fmt::Debug for ElicitReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ElicitReply")
    }
}

/// The form on screen.
#[derive(Clone)]
pub struct ElicitForm {
    pub instance_id: Uuid,
    pub request: ElicitRequest,
    /// The fields, or why the schema cannot be a form (then only decline
    /// and cancel are offered).
    pub fields: Result<Vec<Field>, SchemaError>,
    /// What is typed in each field.
    pub texts: Vec<String>,
    pub focus: usize,
    /// Each field's problem after a refused accept (index, sentence).
    pub problems: Vec<(usize, String)>,
    pub reply: ElicitReply,
}

// Never prints what was typed (a field may hold a secret).
impl std::fmt::Debug for ElicitForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElicitForm")
            .field("instance", &self.request.instance)
            .field("tool", &self.request.tool)
            .field("focus", &self.focus)
            .finish()
    }
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum ElicitOutcome {
    None,
    /// Answered (accept with checked content, decline or cancel): close.
    Answered,
}

impl ElicitForm {
    pub fn new(instance_id: Uuid, request: ElicitRequest, reply: ElicitReply) -> ElicitForm {
        let fields = elicit::fields(&request.schema);
        let texts = fields
            .as_ref()
            .map(|f| f.iter().map(|x| x.default.clone()).collect())
            .unwrap_or_default();
        ElicitForm {
            instance_id,
            request,
            fields,
            texts,
            focus: 0,
            problems: Vec::new(),
            reply,
        }
    }

    fn answer(&self, a: ElicitAnswer) -> ElicitOutcome {
        self.reply.send(a);
        ElicitOutcome::Answered
    }

    /// A key, by the `[elicit]` keys; other keys type into the focused
    /// field.
    pub fn handle_key(&mut self, keymap: &Keymap, k: &KeyEvent) -> ElicitOutcome {
        let n = self.fields.as_ref().map_or(0, Vec::len);
        match keymap.action(View::Elicit, k) {
            Some(Action::Accept) => {
                let Ok(fields) = &self.fields else {
                    return ElicitOutcome::None;
                };
                match elicit::answer(fields, &self.texts) {
                    Ok(content) => return self.answer(ElicitAnswer::Accept(content)),
                    Err(problems) => {
                        self.focus = problems[0].0;
                        self.problems = problems;
                    }
                }
            }
            Some(Action::Decline) => return self.answer(ElicitAnswer::Decline),
            Some(Action::Back) => return self.answer(ElicitAnswer::Cancel),
            Some(Action::Down) if n > 0 => self.focus = (self.focus + 1) % n,
            Some(Action::Up) if n > 0 => self.focus = (self.focus + n - 1) % n,
            Some(Action::Switch) => {
                if let (Ok(fields), Some(text)) = (&self.fields, self.texts.get_mut(self.focus))
                    && let Some(next) = fields[self.focus].cycle(text)
                {
                    *text = next;
                }
            }
            _ => self.type_key(k),
        }
        ElicitOutcome::None
    }

    fn type_key(&mut self, k: &KeyEvent) {
        use crate::tui::input::{InputOutcome, edit_line};
        let Some(text) = self.texts.get_mut(self.focus) else {
            return;
        };
        // Bounded: a form field is a line, not a document. Only typing and
        // erasing reach here (the form's own keys are matched above).
        if matches!(
            edit_line(text, k, 4096),
            InputOutcome::Typed | InputOutcome::Erased(_)
        ) {
            self.problems.retain(|(i, _)| *i != self.focus);
        }
    }

    /// What the focused field shows for `i`: the text, or bullets for a
    /// secret.
    pub fn shown(&self, i: usize) -> String {
        let text = self.texts.get(i).map_or("", String::as_str);
        match &self.fields {
            Ok(f) if f.get(i).is_some_and(|f| f.secret) => "•".repeat(text.chars().count()),
            _ => text.to_string(),
        }
    }
}

impl App {
    /// A server asks for input during a call made from this console: the
    /// form opens now, or after the open overlay closes.
    pub(super) fn elicitation(
        &mut self,
        id: Uuid,
        request: ElicitRequest,
        reply: ElicitReply,
    ) -> Vec<Command> {
        let form = ElicitForm::new(id, request, reply);
        self.elicits.push_back(form);
        self.show_next_elicitation();
        self.dirty = true;
        Vec::new()
    }

    /// A call of instance `id` ended: a form it left open or waiting is
    /// closed (its server no longer waits for the answer).
    pub(super) fn drop_elicitations_of(&mut self, id: Uuid) {
        self.elicits.retain(|f| f.instance_id != id);
        if matches!(&self.overlay, Some(Overlay::Elicit(f)) if f.instance_id == id) {
            if let Some(Overlay::Elicit(f)) = self.overlay.take() {
                f.reply.send(ElicitAnswer::Cancel);
            }
            self.show_next_elicitation();
        }
    }

    /// Open the next waiting form when nothing modal is open (help and
    /// raw text give way to it).
    pub(super) fn show_next_elicitation(&mut self) {
        let free = matches!(
            self.overlay,
            None | Some(Overlay::Help(_)) | Some(Overlay::Raw { .. })
        );
        if free && let Some(f) = self.elicits.pop_front() {
            self.overlay = Some(Overlay::Elicit(Box::new(f)));
            self.dirty = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};
    use serde_json::json;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn form() -> (ElicitForm, oneshot::Receiver<ElicitAnswer>) {
        let (tx, rx) = oneshot::channel();
        let f = ElicitForm::new(
            Uuid::nil(),
            ElicitRequest {
                instance: "demo".into(),
                tool: "ask".into(),
                message: "Who are you?".into(),
                schema: json!({"type": "object", "properties": {
                    "name": {"type": "string"},
                    "api_key": {"type": "string"},
                    "ok": {"type": "boolean", "default": false}
                }, "required": ["name"]}),
            },
            ElicitReply::new(tx),
        );
        (f, rx)
    }

    #[test]
    fn a_form_checks_before_it_sends_and_masks_secrets() {
        let km = Keymap::load("default", None).unwrap();
        let (mut f, mut rx) = form();
        let accept = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(f.handle_key(&km, &accept), ElicitOutcome::None);
        assert_eq!(f.problems, vec![(0, "name is required".to_string())]);
        assert!(rx.try_recv().is_err(), "nothing sent");
        for c in "Ada".chars() {
            f.handle_key(&km, &key(KeyCode::Char(c)));
        }
        assert!(f.problems.is_empty(), "typing clears the field's problem");
        f.handle_key(&km, &key(KeyCode::Tab));
        for c in "s3cr3t".chars() {
            f.handle_key(&km, &key(KeyCode::Char(c)));
        }
        assert_eq!(f.shown(1), "••••••");
        assert!(!format!("{f:?}").contains("s3cr3t"));
        f.handle_key(&km, &key(KeyCode::Tab));
        f.handle_key(&km, &key(KeyCode::Right));
        assert_eq!(f.texts[2], "true");
        assert_eq!(f.handle_key(&km, &accept), ElicitOutcome::Answered);
        let ElicitAnswer::Accept(c) = rx.try_recv().unwrap() else {
            panic!("accepted");
        };
        assert_eq!(
            serde_json::Value::Object(c),
            json!({"name": "Ada", "api_key": "s3cr3t", "ok": true})
        );
    }

    #[test]
    fn decline_and_cancel_answer_so() {
        let km = Keymap::load("default", None).unwrap();
        let (mut f, mut rx) = form();
        let decline = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(f.handle_key(&km, &decline), ElicitOutcome::Answered);
        assert_eq!(rx.try_recv().unwrap(), ElicitAnswer::Decline);
        let (mut f, mut rx) = form();
        assert_eq!(
            f.handle_key(&km, &key(KeyCode::Esc)),
            ElicitOutcome::Answered
        );
        assert_eq!(rx.try_recv().unwrap(), ElicitAnswer::Cancel);
        // Dropped unanswered: the runtime's wait ends (it answers cancel).
        let (f, mut rx) = form();
        drop(f);
        assert!(rx.try_recv().is_err());
    }
}
