//! Render a ratatui [`Buffer`] as SVG, so screenshots come from the real
//! render code: a monospace grid with each cell's colours and modifiers
//! (bold, italic, underlined, crossed out, dim, reversed, hidden).

use aacon::tui::palette::rgb;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// Page colours, font and grid size.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// What `Color::Reset` means for text.
    pub fg: (u8, u8, u8),
    /// What `Color::Reset` means for the background.
    pub bg: (u8, u8, u8),
    pub font_family: String,
    pub font_size: f32,
    /// Cell width and height in pixels.
    pub cell_width: f32,
    pub cell_height: f32,
}

impl Default for SvgOptions {
    /// A dark terminal.
    fn default() -> Self {
        SvgOptions {
            fg: (0xd0, 0xd0, 0xd0),
            bg: (0x1c, 0x1c, 0x1c),
            font_family: "'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace".into(),
            font_size: 15.0,
            cell_width: 9.0,
            cell_height: 18.0,
        }
    }
}

impl SvgOptions {
    /// A light terminal.
    pub fn light() -> Self {
        SvgOptions {
            fg: (0x1c, 0x1c, 0x1c),
            bg: (0xfa, 0xfa, 0xfa),
            ..SvgOptions::default()
        }
    }
}

/// A coordinate with at most two decimals and no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML.
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
}

/// How one cell is drawn, after reversal and defaults.
#[derive(Debug, Clone, PartialEq)]
struct Look {
    fg: (u8, u8, u8),
    bg: (u8, u8, u8),
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    dim: bool,
    hidden: bool,
}

fn look(cell: &ratatui::buffer::Cell, o: &SvgOptions) -> Look {
    let m = cell.modifier;
    let mut fg = rgb(cell.fg).unwrap_or(o.fg);
    let mut bg = rgb(cell.bg).unwrap_or(o.bg);
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    Look {
        fg,
        bg,
        bold: m.contains(Modifier::BOLD),
        italic: m.contains(Modifier::ITALIC),
        underline: m.contains(Modifier::UNDERLINED),
        strike: m.contains(Modifier::CROSSED_OUT),
        dim: m.contains(Modifier::DIM),
        hidden: m.contains(Modifier::HIDDEN),
    }
}

/// Whether two looks draw text the same way (the background is drawn apart).
fn same_text_look(a: &Look, b: &Look) -> bool {
    Look {
        bg: b.bg,
        ..a.clone()
    } == *b
}

/// The buffer as an SVG document with the default (dark) page.
#[cfg_attr(not(test), allow(dead_code))]
pub fn buffer_to_svg(buf: &Buffer) -> String {
    buffer_to_svg_with(buf, &SvgOptions::default())
}

/// The buffer as an SVG document.
pub fn buffer_to_svg_with(buf: &Buffer, o: &SvgOptions) -> String {
    let area = buf.area;
    let (cw, ch) = (o.cell_width, o.cell_height);
    let w = f32::from(area.width) * cw;
    let h = f32::from(area.height) * ch;
    let mut rects = String::new();
    let mut texts = String::new();
    for row in 0..area.height {
        let y = area.y + row;
        // One entry per drawn glyph: (column, width in cells, symbol, look).
        let mut glyphs: Vec<(u16, u16, &str, Look)> = Vec::new();
        let mut col = 0;
        while col < area.width {
            let cell = &buf[(area.x + col, y)];
            let sym = cell.symbol();
            let width = (sym.width() as u16).clamp(1, 2).min(area.width - col);
            if !cell.skip {
                glyphs.push((col, width, sym, look(cell, o)));
            }
            col += width;
        }
        let top = f32::from(row) * ch;
        // Background runs.
        let mut i = 0;
        while i < glyphs.len() {
            let bg = glyphs[i].3.bg;
            let start = glyphs[i].0;
            let mut end = start + glyphs[i].1;
            let mut j = i + 1;
            while j < glyphs.len() && glyphs[j].3.bg == bg && glyphs[j].0 == end {
                end += glyphs[j].1;
                j += 1;
            }
            if bg != o.bg {
                let _ = writeln!(
                    rects,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
                    num(f32::from(start) * cw),
                    num(top),
                    num(f32::from(end - start) * cw),
                    num(ch),
                    hex(bg)
                );
            }
            i = j;
        }
        // Text runs: same look, contiguous.
        let mut i = 0;
        while i < glyphs.len() {
            let lk = glyphs[i].3.clone();
            let mut end = glyphs[i].0 + glyphs[i].1;
            let mut j = i + 1;
            while j < glyphs.len() && glyphs[j].0 == end && same_text_look(&glyphs[j].3, &lk) {
                end += glyphs[j].1;
                j += 1;
            }
            // Every character sits at its cell's x, whatever the font's
            // advance, so the grid holds in any renderer.
            let mut text = String::new();
            let mut xs = Vec::new();
            for g in &glyphs[i..j] {
                for c in g.2.chars() {
                    text.push(c);
                    xs.push(num(f32::from(g.0) * cw));
                }
            }
            i = j;
            let blank = text.chars().all(|c| c == ' ');
            if lk.hidden || (blank && !lk.underline && !lk.strike) {
                continue;
            }
            let mut attrs = format!(r#" fill="{}""#, hex(lk.fg));
            if lk.bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if lk.italic {
                attrs.push_str(r#" font-style="italic""#);
            }
            match (lk.underline, lk.strike) {
                (true, true) => attrs.push_str(r#" text-decoration="underline line-through""#),
                (true, false) => attrs.push_str(r#" text-decoration="underline""#),
                (false, true) => attrs.push_str(r#" text-decoration="line-through""#),
                _ => {}
            }
            if lk.dim {
                attrs.push_str(r#" fill-opacity="0.6""#);
            }
            let _ = write!(
                texts,
                r#"<text x="{}" y="{}"{attrs}>"#,
                xs.join(" "),
                num(top + ch * 0.75),
            );
            escape(&text, &mut texts);
            texts.push_str("</text>\n");
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}">"#,
        w.ceil(),
        h.ceil(),
        num(w),
        num(h)
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        hex(o.bg)
    );
    out.push_str("<g shape-rendering=\"crispEdges\">\n");
    out.push_str(&rects);
    out.push_str("</g>\n");
    let mut family = String::new();
    escape(&o.font_family, &mut family);
    let _ = writeln!(
        out,
        r#"<g font-family="{family}" font-size="{}" xml:space="preserve">"#,
        o.font_size
    );
    out.push_str(&texts);
    out.push_str("</g>\n</svg>\n");
    out
}

/// Draw into an off-screen buffer of `width` x `height` with the real
/// render code (ratatui's test backend), for screenshots.
pub fn render_to_buffer(
    width: u16,
    height: u16,
    draw: impl FnOnce(&mut ratatui::Frame),
) -> Result<Buffer, String> {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut term = ratatui::Terminal::new(backend).map_err(|e| e.to_string())?;
    term.draw(draw).map_err(|e| e.to_string())?;
    Ok(term.backend().buffer().clone())
}

/// The kit's components in typical states (file stem, buffer), written by
/// its test with `UPDATE_SCREENSHOTS` set.
#[cfg_attr(not(test), allow(dead_code))]
pub fn kit_gallery(
    theme: &aacon::tui::theme::Theme,
    width: u16,
    height: u16,
) -> Result<Vec<(&'static str, Buffer)>, String> {
    use aacon::tui::conflict::{ConflictScreen, Theirs};
    use aacon::tui::editor::{Editor, EditorMode};
    let keymap = aacon::tui::keymap::Keymap::preset("default").map_err(|e| e.to_string())?;
    use aacon::tui::templates::{TemplatePicker, all as templates};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let mut out = Vec::new();
    let picker = TemplatePicker::new();
    out.push((
        "templates",
        render_to_buffer(width, height, |f| {
            picker.render(f, f.area(), theme, &keymap)
        })?,
    ));
    let valid = Editor::create(&templates()[1]);
    out.push((
        "editor",
        render_to_buffer(width, height, |f| valid.render(f, f.area(), theme))?,
    ));
    let mut broken = Editor::new(
        EditorMode::Create {
            template: Some("external".into()),
        },
        "{\n  \"endpoint_url\": \"https://mcp.example.com/mcp\"\n  \"headers\": {\"Authorization\": \"secret_ref:EXAMPLE_TOKEN\"}\n}\n",
    );
    broken.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    out.push((
        "editor-error",
        render_to_buffer(width, height, |f| broken.render(f, f.area(), theme))?,
    ));
    let conflict = ConflictScreen::new(
        "files",
        "{\n  \"command\": [\"npx\", \"-y\", \"@modelcontextprotocol/server-filesystem\", \"/srv\"],\n  \"cwd\": \"/srv\"\n}\n",
        3,
        Theirs {
            text: "{\n  \"command\": [\"npx\", \"-y\", \"@modelcontextprotocol/server-filesystem\", \"/data\"],\n  \"env_vars\": {\n    \"LOG_LEVEL\": \"debug\"\n  },\n  \"cwd\": \"/srv\"\n}\n".into(),
            version: 5,
            updated_at: chrono::DateTime::from_timestamp(1_795_522_904, 0),
            updated_by: Some("cli on bastion-1".into()),
            name: Some("files".into()),
            description: None,
        },
    );
    out.push((
        "conflict",
        render_to_buffer(width, height, |f| {
            conflict.render(f, f.area(), theme, &keymap)
        })?,
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Color;
    use ratatui::style::Style;

    #[test]
    fn small_buffer_renders_faithfully() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        buf.set_string(0, 0, "a<b", Style::default().fg(Color::Red));
        buf.set_string(
            3,
            0,
            "OK",
            Style::default()
                .fg(Color::Rgb(1, 2, 3))
                .bg(Color::Indexed(196))
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        );
        buf.set_string(
            0,
            1,
            "界x",
            Style::default().add_modifier(Modifier::REVERSED),
        );
        buf.set_string(
            3,
            1,
            "it",
            Style::default().add_modifier(Modifier::ITALIC | Modifier::DIM),
        );
        let svg = buffer_to_svg(&buf);
        let want = r##"<svg xmlns="http://www.w3.org/2000/svg" width="54" height="36" viewBox="0 0 54 36">
<rect width="100%" height="100%" fill="#1c1c1c"/>
<g shape-rendering="crispEdges">
<rect x="27" y="0" width="18" height="18" fill="#ff0000"/>
<rect x="0" y="18" width="27" height="18" fill="#d0d0d0"/>
</g>
<g font-family="&apos;DejaVu Sans Mono&apos;, &apos;Menlo&apos;, &apos;Consolas&apos;, monospace" font-size="15" xml:space="preserve">
<text x="0 9 18" y="13.5" fill="#cd0000">a&lt;b</text>
<text x="27 36" y="13.5" fill="#010203" font-weight="bold" text-decoration="underline">OK</text>
<text x="0 18" y="31.5" fill="#1c1c1c">界x</text>
<text x="27 36" y="31.5" fill="#d0d0d0" font-style="italic" fill-opacity="0.6">it</text>
</g>
</svg>
"##;
        assert_eq!(svg, want);
    }

    #[test]
    fn gallery_renders_every_component() {
        let theme = aacon::tui::theme::Theme::default_dark();
        let g = kit_gallery(&theme, 100, 30).unwrap();
        let names: Vec<&str> = g.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["templates", "editor", "editor-error", "conflict"]);
        for (name, buf) in &g {
            let svg = buffer_to_svg(buf);
            assert!(svg.matches("<text").count() > 10, "{name}");
        }
        // With UPDATE_SCREENSHOTS set, write them to screenshots/.
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
            std::fs::create_dir_all(&dir).unwrap();
            for (name, buf) in &g {
                std::fs::write(dir.join(format!("{name}.svg")), buffer_to_svg(buf)).unwrap();
            }
        }
    }

    #[test]
    fn light_page_and_hidden_text() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
        buf.set_string(0, 0, "ab", Style::default().add_modifier(Modifier::HIDDEN));
        let svg = buffer_to_svg_with(&buf, &SvgOptions::light());
        assert!(svg.contains(r##"fill="#fafafa""##));
        assert!(!svg.contains("<text"), "{svg}");
    }
}
