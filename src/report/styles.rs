//! The styles reports are written with: plain by default, coloured only when the CLI decides so.
//! Renderers always go through a `Styles`; none of them asks whether colour is on.

use owo_colors::Style;

#[derive(Debug, Clone, Copy, Default)]
pub struct Styles {
    /// Text with no style of its own.
    pub plain: Style,
    pub ok: Style,
    pub failed: Style,
    pub not_reached: Style,
    pub heading: Style,
    pub emphasis: Style,
    pub dim: Style,
    pub command: Style,
}

impl Styles {
    /// No escape codes at all: files, pipes, snapshots, `NO_COLOR`.
    pub fn plain() -> Self {
        Self::default()
    }

    /// For a terminal.
    pub fn colored() -> Self {
        Styles {
            plain: Style::new(),
            ok: Style::new().green(),
            failed: Style::new().red().bold(),
            not_reached: Style::new().dimmed(),
            heading: Style::new().bold().underline(),
            emphasis: Style::new().bold(),
            dim: Style::new().dimmed(),
            command: Style::new().cyan(),
        }
    }
}
