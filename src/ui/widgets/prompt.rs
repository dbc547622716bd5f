//! The prompt line: `/filter`, `:command` or `/search`, with a block cursor and what is
//! wrong with the text so far, or what the command line's word can be completed to.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::state::{Prompt, PromptKind};
use crate::theme::Theme;

pub fn render(prompt: &Prompt, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(prompt.kind.sigil(), theme.key_hint()),
        Span::raw(prompt.text.clone()),
        Span::styled(" ", theme.selection()),
    ];
    match &prompt.error {
        Some(e) => spans.push(Span::styled(format!("  {e}"), theme.error())),
        // What the word being typed can become (Tab completes).
        None if !prompt.choices.is_empty() => {
            spans.push(Span::styled("  tab: ", theme.dim()));
            spans.push(Span::styled(prompt.choices.join("  "), theme.key_hint()));
        }
        None => {
            let help = match prompt.kind {
                PromptKind::Filter => {
                    "  text  ns:NAME  kind:hr  state:failed · enter keep · esc clear"
                }
                PromptKind::Search => "  enter keep · esc clear · n/N next/prev",
                PromptKind::Command => {
                    "  ns NAME · ctx [NAME] · theme NAME · messages · q · tab completes"
                }
            };
            spans.push(Span::styled(help, theme.dim()));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
