//! What the terminal can show: colour depth (from `COLORTERM`/`TERM`),
//! whether the locale is UTF-8 (from `LC_ALL`/`LC_CTYPE`/`LANG`), and its
//! background when it says (`COLORFGBG`). The console's renderer
//! ([`Adapted`]) and `aacon doctor` read the same [`TermCaps`], so they agree.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::Color;
use std::io::{self, Write};

mod pen;
use pen::Pen;

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    /// 24-bit `38;2;R;G;B`.
    TrueColor,
    /// The 256-colour palette (`38;5;N`).
    Ansi256,
    /// The 16 ANSI colours (`30–37`, `90–97`).
    Ansi16,
}

/// A terminal's (or a theme's) background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    Dark,
    Light,
}

impl Background {
    pub fn as_str(self) -> &'static str {
        match self {
            Background::Dark => "dark",
            Background::Light => "light",
        }
    }
}

/// The terminal as the environment describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCaps {
    pub depth: ColorDepth,
    /// Why this depth (for doctor).
    pub depth_reason: String,
    /// Whether the locale's character set is UTF-8.
    pub utf8: bool,
    /// The variable that decided the locale, and its value.
    pub locale: Option<(String, String)>,
    /// The background, when `COLORFGBG` says.
    pub background: Option<Background>,
}

/// `TERM` values (by prefix) of terminals that show 24-bit colour
/// without saying so in `COLORTERM`.
const TRUECOLOR_TERMS: &[&str] = &[
    "xterm-kitty",
    "alacritty",
    "wezterm",
    "foot",
    "xterm-ghostty",
];
/// `TERM_PROGRAM` values of terminals that show 24-bit colour.
const TRUECOLOR_PROGRAMS: &[&str] = &["iTerm.app", "WezTerm", "vscode", "ghostty"];

impl TermCaps {
    /// Read the capabilities from the process environment.
    pub fn from_env() -> TermCaps {
        // A value that is not UTF-8 (a mangled TERM) is read lossily.
        TermCaps::detect(&|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Read the capabilities from `env` (a lookup, so tests need no process env).
    pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> TermCaps {
        let term = env("TERM").unwrap_or_default();
        let colorterm = env("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        let program = env("TERM_PROGRAM").unwrap_or_default();
        let (depth, depth_reason) = if colorterm.contains("truecolor")
            || colorterm.contains("24bit")
        {
            (ColorDepth::TrueColor, format!("COLORTERM={colorterm}"))
        } else if term.ends_with("-direct") || TRUECOLOR_TERMS.iter().any(|t| term.starts_with(t)) {
            (ColorDepth::TrueColor, format!("known for TERM={term}"))
        } else if TRUECOLOR_PROGRAMS.contains(&program.as_str()) {
            (
                ColorDepth::TrueColor,
                format!("known for TERM_PROGRAM={program}"),
            )
        } else if term.contains("256color") {
            (ColorDepth::Ansi256, format!("TERM={term}"))
        } else {
            let shown = if term.is_empty() { "unset" } else { &term };
            (ColorDepth::Ansi16, format!("TERM={shown}"))
        };
        // POSIX precedence: the first of these that is set and not empty.
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| env(k).filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)));
        let utf8 = match &locale {
            Some((_, v)) => {
                let v = v.to_ascii_lowercase();
                v.contains("utf-8") || v.contains("utf8")
            }
            // No locale at all is the C locale.
            None => false,
        };
        TermCaps {
            depth,
            depth_reason,
            utf8,
            locale,
            background: env("COLORFGBG").and_then(|v| background_of(&v)),
        }
    }

    /// The colour depth in words, for doctor and the log.
    pub fn describe_colours(&self) -> String {
        match self.depth {
            ColorDepth::TrueColor => format!("24-bit colour ({})", self.depth_reason),
            // Doctor names TERM itself.
            ColorDepth::Ansi256 => "256 colours".into(),
            ColorDepth::Ansi16 => "basic colours (the theme mapped to the 16 ANSI colours)".into(),
        }
    }

    /// The character set in words, for doctor.
    pub fn describe_charset(&self) -> String {
        match (&self.locale, self.utf8) {
            (Some((k, v)), true) => format!("UTF-8 ({k}={v})"),
            (Some((k, v)), false) => format!("not UTF-8 ({k}={v}): ASCII glyphs and borders"),
            (None, _) => "no locale set (the C locale): ASCII glyphs and borders".into(),
        }
    }
}

/// `COLORFGBG` is `FG;BG` (or `FG;default;BG`): ANSI colour numbers. A
/// background of 0–6 or 8 is dark; 7 and 9–15 are light.
fn background_of(v: &str) -> Option<Background> {
    let bg: u8 = v.rsplit(';').next()?.trim().parse().ok()?;
    Some(match bg {
        0..=6 | 8 => Background::Dark,
        7 | 9..=15 => Background::Light,
        _ => return None,
    })
}

/// A colour as the terminal can show it.
pub fn map_color(c: Color, depth: ColorDepth) -> Color {
    match (c, depth) {
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => Color::Indexed(rgb_to_256(r, g, b)),
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => ansi16(rgb_to_16(r, g, b)),
        (Color::Indexed(i), ColorDepth::Ansi16) if i >= 16 => {
            // The palette entry as xterm draws it (the screenshots' table).
            let (r, g, b) = super::palette::rgb(c).unwrap_or((0, 0, 0));
            ansi16(rgb_to_16(r, g, b))
        }
        (c, _) => c,
    }
}

/// The 6x6x6 cube's channel levels.
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn nearest_level(v: u8) -> usize {
    CUBE.iter()
        .enumerate()
        .min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).abs())
        .map(|(i, _)| i)
        .unwrap_or(0)
}

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> i32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The nearest of the 240 non-system entries (cube or grey ramp).
pub fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let (ri, gi, bi) = (nearest_level(r), nearest_level(g), nearest_level(b));
    let cube = (CUBE[ri], CUBE[gi], CUBE[bi]);
    let cube_index = 16 + 36 * ri + 6 * gi + bi;
    // The grey ramp: 232..=255 are 8, 18, ..., 238.
    let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let gi = ((i32::from(avg) - 8 + 5) / 10).clamp(0, 23);
    let grey_v = (8 + gi * 10) as u8;
    let grey = (grey_v, grey_v, grey_v);
    if dist((r, g, b), grey) < dist((r, g, b), cube) {
        232 + gi as u8
    } else {
        cube_index as u8
    }
}

/// The nearest ANSI colour (0–15) by hue first: saturated colours keep
/// their hue, greys stay grey.
pub fn rgb_to_16(r: u8, g: u8, b: u8) -> u8 {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max - min < 40 {
        // A grey: black, dark grey, light grey or white by lightness.
        return match max {
            0..=47 => 0,
            48..=143 => 8,
            144..=223 => 7,
            _ => 15,
        };
    }
    // A colour: which channels are clearly on, and bright when it is light.
    let on = |v: u8| u16::from(v) * 2 > u16::from(max) + u16::from(min);
    let mut idx = 0;
    if on(r) {
        idx |= 1;
    }
    if on(g) {
        idx |= 2;
    }
    if on(b) {
        idx |= 4;
    }
    if max > 200 || (max > 160 && min > 60) {
        idx += 8;
    }
    idx
}

fn ansi16(i: u8) -> Color {
    match i {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        7 => Color::Gray,
        8 => Color::DarkGray,
        9 => Color::LightRed,
        10 => Color::LightGreen,
        11 => Color::LightYellow,
        12 => Color::LightBlue,
        13 => Color::LightMagenta,
        14 => Color::LightCyan,
        _ => Color::White,
    }
}

/// A glyph as ASCII, keeping its width: box drawing becomes `+-|`, the
/// console's symbols their nearest letter. Anything else not ASCII becomes
/// `?` (one per column).
pub fn ascii_glyph(symbol: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if symbol.is_ascii() {
        return Cow::Borrowed(symbol);
    }
    let mut out = String::with_capacity(symbol.len());
    for c in symbol.chars() {
        let a = match c {
            c if c.is_ascii() => c,
            '─' | '━' | '═' | '┄' | '┈' | '╌' => '-',
            '│' | '┃' | '║' | '┆' | '┊' | '╎' | '▏' | '▕' => '|',
            '┌' | '┐' | '└' | '┘' | '╭' | '╮' | '╰' | '╯' | '┏' | '┓' | '┗' | '┛' | '╔' | '╗'
            | '╚' | '╝' | '├' | '┤' | '┬' | '┴' | '┼' | '╠' | '╣' | '╦' | '╩' | '╬' => {
                '+'
            }
            '●' | '◉' | '•' | '■' | '◆' => '*',
            '○' | '◌' | '◯' | '□' | '◇' => 'o',
            '▲' | '△' | '↑' | '⇡' => '^',
            '▼' | '▽' | '↓' | '⇣' => 'v',
            '▶' | '►' | '→' | '›' | '»' => '>',
            '◀' | '◄' | '←' | '‹' | '«' => '<',
            '✓' | '✔' => '+',
            '✗' | '✘' | '×' => 'x',
            '…' | '·' | '⋯' => '.',
            '—' | '–' | '‐' => '-',
            '“' | '”' => '"',
            '‘' | '’' => '\'',
            '█' | '▇' | '▆' | '▅' => '#',
            '▄' | '▃' | '▂' | '▁' => '_',
            // Braille spinners and anything else.
            c => {
                let w = unicode_width::UnicodeWidthChar::width(c)
                    .unwrap_or(1)
                    .max(1);
                for _ in 0..w {
                    out.push('?');
                }
                continue;
            }
        };
        out.push(a);
    }
    Cow::Owned(out)
}

/// The real terminal's backend, adapted to what it can show: colours mapped
/// to its depth and, without UTF-8, every glyph made ASCII. Writes its own
/// SGR sequences, so a 16-colour terminal gets `30–37`/`90–97`, never `38;2`.
pub struct Adapted<W: Write> {
    inner: ratatui::backend::CrosstermBackend<W>,
    depth: ColorDepth,
    ascii: bool,
    /// The terminal's pen is known to be the default (the last frame ended
    /// with a reset and nothing was written around the backend since).
    pen_reset: bool,
    /// The cursor is known to be hidden (this backend hid it, and nothing
    /// was written around the backend since).
    cursor_hidden: bool,
    /// The frame being written (its allocation kept from frame to frame).
    out: String,
}

impl<W: Write> Adapted<W> {
    pub fn new(writer: W, caps: &TermCaps) -> Adapted<W> {
        Adapted {
            inner: ratatui::backend::CrosstermBackend::new(writer),
            depth: caps.depth,
            ascii: !caps.utf8,
            pen_reset: false,
            cursor_hidden: false,
            out: String::new(),
        }
    }
}

impl<W: Write> Write for Adapted<W> {
    /// Bytes written around the backend may change the pen or the cursor:
    /// neither is known any more.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pen_reset = false;
        self.cursor_hidden = false;
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

impl<W: Write> Backend for Adapted<W> {
    /// Only the cells ratatui's diff hands over, and for them only what
    /// changes: the pen is carried from cell to cell (and known to be the
    /// default after a frame, which ends with a reset), a move is written
    /// only where the next cell is not where the cursor stands.
    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut pen = self.pen_reset.then_some(Pen::RESET);
        let mut after: Option<pen::After> = None;
        let out = &mut self.out;
        out.clear();
        for (x, y, cell) in content {
            pen::move_to(out, after, x, y);
            let want = Pen::new(cell.fg, cell.bg, cell.modifier, self.depth);
            if pen != Some(want) {
                pen::change(out, pen, want);
                pen = Some(want);
            }
            let glyph = if self.ascii {
                ascii_glyph(cell.symbol())
            } else {
                std::borrow::Cow::Borrowed(cell.symbol())
            };
            out.push_str(&glyph);
            // One printable ASCII byte is one column on every terminal.
            let ascii = matches!(glyph.as_bytes(), [b] if *b == b' ' || b.is_ascii_graphic());
            after = Some(pen::After { x, y, ascii });
        }
        if pen != Some(Pen::RESET) {
            out.push_str("\x1b[0m");
        }
        self.pen_reset = true;
        self.inner.write_all(out.as_bytes())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        // ratatui hides it before every frame without a cursor: once is enough.
        if self.cursor_hidden {
            return Ok(());
        }
        self.inner.hide_cursor()?;
        self.cursor_hidden = true;
        Ok(())
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }
    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }
    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Modifier;

    fn caps(vars: &[(&str, &str)]) -> TermCaps {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TermCaps::detect(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn depth_follows_colorterm_then_term() {
        assert_eq!(caps(&[("TERM", "linux")]).depth, ColorDepth::Ansi16);
        assert_eq!(caps(&[("TERM", "screen")]).depth, ColorDepth::Ansi16);
        assert_eq!(
            caps(&[("TERM", "screen-256color")]).depth,
            ColorDepth::Ansi256
        );
        assert_eq!(
            caps(&[("TERM", "xterm-256color")]).depth,
            ColorDepth::Ansi256
        );
        assert_eq!(
            caps(&[("TERM", "screen"), ("COLORTERM", "truecolor")]).depth,
            ColorDepth::TrueColor
        );
        assert_eq!(
            caps(&[("TERM", "xterm"), ("COLORTERM", "24bit")]).depth,
            ColorDepth::TrueColor
        );
        assert_eq!(
            caps(&[("TERM", "xterm-kitty")]).depth,
            ColorDepth::TrueColor
        );
        assert_eq!(caps(&[]).depth, ColorDepth::Ansi16);
        // Terminal.app says 256 colours and garbles 24-bit.
        assert_eq!(
            caps(&[
                ("TERM", "xterm-256color"),
                ("TERM_PROGRAM", "Apple_Terminal")
            ])
            .depth,
            ColorDepth::Ansi256
        );
    }

    #[test]
    fn locale_precedence_decides_utf8() {
        assert!(!caps(&[("LANG", "C")]).utf8);
        assert!(caps(&[("LANG", "en_US.UTF-8")]).utf8);
        assert!(!caps(&[]).utf8);
        // LC_ALL wins over LANG; an empty LC_ALL is not set.
        assert!(!caps(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")]).utf8);
        assert!(caps(&[("LC_ALL", ""), ("LANG", "de_DE.utf8")]).utf8);
        assert!(caps(&[("LC_CTYPE", "C.UTF-8"), ("LANG", "C")]).utf8);
        let c = caps(&[("LC_CTYPE", "POSIX"), ("LANG", "en_US.UTF-8")]);
        assert!(!c.utf8);
        assert!(c.describe_charset().contains("LC_CTYPE=POSIX"), "{c:?}");
    }

    #[test]
    fn colorfgbg_names_the_background() {
        assert_eq!(
            caps(&[("COLORFGBG", "15;0")]).background,
            Some(Background::Dark)
        );
        assert_eq!(
            caps(&[("COLORFGBG", "0;15")]).background,
            Some(Background::Light)
        );
        assert_eq!(
            caps(&[("COLORFGBG", "0;default;15")]).background,
            Some(Background::Light)
        );
        assert_eq!(caps(&[("COLORFGBG", "junk")]).background, None);
        assert_eq!(caps(&[]).background, None);
    }

    #[test]
    fn colours_map_to_the_palette() {
        // Cube corners and greys land where they should.
        assert_eq!(rgb_to_256(0xff, 0x5f, 0x5f), 203);
        assert_eq!(rgb_to_256(0x87, 0xaf, 0xff), 111);
        assert_eq!(rgb_to_256(0x80, 0x80, 0x80), 244);
        assert_eq!(rgb_to_256(0, 0, 0), 16);
        // The 16 colours keep the hue.
        assert_eq!(rgb_to_16(0xff, 0x5f, 0x5f), 9); // light red
        assert_eq!(rgb_to_16(0xd7, 0x00, 0x00), 9);
        assert_eq!(rgb_to_16(0x87, 0xd7, 0x87), 10); // light green
        assert_eq!(rgb_to_16(0x00, 0x87, 0x00), 2); // green
        assert_eq!(rgb_to_16(0x5f, 0xd7, 0xff), 14); // light cyan
        assert_eq!(rgb_to_16(0x80, 0x80, 0x80), 8); // dark grey
        assert_eq!(rgb_to_16(0xd0, 0xd0, 0xd0), 7);
        assert_eq!(rgb_to_16(0x1c, 0x1c, 0x1c), 0);
        assert_eq!(rgb_to_16(0xff, 0xd7, 0x5f), 11); // yellow
        assert_eq!(rgb_to_16(0x30, 0x40, 0x60), 4); // dark blue selection
        // Truecolor leaves colours alone; named colours stay named.
        let c = Color::Rgb(1, 2, 3);
        assert_eq!(map_color(c, ColorDepth::TrueColor), c);
        assert_eq!(map_color(Color::Red, ColorDepth::Ansi16), Color::Red);
        assert_eq!(
            map_color(Color::Indexed(196), ColorDepth::Ansi16),
            Color::LightRed
        );
        assert_eq!(
            map_color(Color::Indexed(196), ColorDepth::Ansi256),
            Color::Indexed(196)
        );
    }

    #[test]
    fn sgr_sequences_per_depth() {
        let red = Color::Rgb(0xff, 0x5f, 0x5f);
        let sgr = |fg, bg, m, depth| {
            let mut s = String::new();
            pen::change(&mut s, None, Pen::new(fg, bg, m, depth));
            s
        };
        assert_eq!(
            sgr(red, Color::Reset, Modifier::BOLD, ColorDepth::TrueColor),
            "\x1b[0;1;38;2;255;95;95m"
        );
        assert_eq!(
            sgr(red, Color::Reset, Modifier::empty(), ColorDepth::Ansi256),
            "\x1b[0;38;5;203m"
        );
        assert_eq!(
            sgr(
                red,
                Color::Rgb(0, 0, 0),
                Modifier::empty(),
                ColorDepth::Ansi16
            ),
            "\x1b[0;91;40m"
        );
    }

    /// Bytes the adapted backend writes for a diff, against ratatui's own
    /// crossterm backend for the same diff (BENCHMARKS row 4 measures the latter).
    #[test]
    fn an_adapted_frame_costs_about_what_crossterm_writes() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        use ratatui::style::Style;
        let area = Rect::new(0, 0, 120, 30);
        let mut before = Buffer::empty(area);
        for y in 0..30 {
            let st = Style::default().fg(Color::Rgb(0xd0, 0xd0, 0xd0));
            before.set_string(0, y, format!("row-{y:03} ● running    process  2m"), st);
        }
        let mut after = before.clone();
        after.set_string(
            9,
            7,
            "▲ unhealthy",
            Style::default()
                .fg(Color::Rgb(0xff, 0xaf, 0x5f))
                .bg(Color::Rgb(0x5f, 0x5f, 0x00)),
        );
        let diff = before.diff(&after);
        /// Counts what is written.
        #[derive(Clone, Default)]
        struct Count(std::rc::Rc<std::cell::Cell<usize>>);
        impl Write for Count {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.set(self.0.get() + buf.len());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let count = Count::default();
        let mut backend = ratatui::backend::CrosstermBackend::new(count.clone());
        backend
            .draw(diff.iter().map(|(x, y, c)| (*x, *y, *c)))
            .unwrap();
        let plain = count.0.get();
        for (depth, utf8) in [
            (ColorDepth::TrueColor, true),
            (ColorDepth::Ansi256, true),
            (ColorDepth::Ansi16, false),
        ] {
            let caps = TermCaps {
                depth,
                depth_reason: String::new(),
                utf8,
                locale: None,
                background: None,
            };
            let count = Count::default();
            let mut adapted = Adapted::new(count.clone(), &caps);
            adapted
                .draw(diff.iter().map(|(x, y, c)| (*x, *y, *c)))
                .unwrap();
            let n = count.0.get();
            eprintln!("{depth:?}: {n} bytes; crossterm: {plain} bytes");
            assert!(
                n <= plain + plain / 4,
                "{depth:?}: {n} bytes against {plain}"
            );
        }
    }

    /// Frames drawn through the adapted backend, replayed on a terminal
    /// emulator, leave on its screen exactly what the buffer holds (glyphs,
    /// colours, bold, italic, underline, reverse): the pen carried from cell
    /// to cell and the short moves lose nothing.
    #[test]
    fn what_reaches_the_terminal_is_the_buffer() {
        use ratatui::Terminal;
        use ratatui::style::Style;
        use std::cell::RefCell;
        use std::rc::Rc;
        #[derive(Clone, Default)]
        struct Out(Rc<RefCell<Vec<u8>>>);
        impl Write for Out {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (w, h) = (60u16, 12u16);
        let caps = TermCaps {
            depth: ColorDepth::TrueColor,
            depth_reason: String::new(),
            utf8: true,
            locale: None,
            background: None,
        };
        let out = Out::default();
        let mut term = Terminal::with_options(
            Adapted::new(out.clone(), &caps),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
            },
        )
        .unwrap();
        let mut vt = vt100::Parser::new(h, w, 0);
        let colors = [
            Color::Reset,
            Color::Rgb(0xff, 0x5f, 0x5f),
            Color::Rgb(0x30, 0x40, 0x60),
            Color::Indexed(200),
            Color::Red,
        ];
        let mods = [
            Modifier::empty(),
            Modifier::BOLD,
            Modifier::ITALIC | Modifier::UNDERLINED,
            Modifier::REVERSED,
            Modifier::BOLD | Modifier::REVERSED | Modifier::ITALIC,
        ];
        let words = [
            "● running",
            "✗ error",
            "日本",
            "plain text",
            "ok 3s 4ms",
            "-",
        ];
        let mut seed = 7u64;
        let mut rnd = |n: usize| {
            // xorshift: the same frames every run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let count_in =
            |hay: &[u8], what: &[u8]| hay.windows(what.len()).filter(|w| *w == what).count();
        let mut hides = 0;
        for frame_no in 1..=40 {
            let edits: Vec<(u16, u16, &str, Style)> = (0..rnd(12) + 1)
                .map(|_| {
                    let st = Style::default()
                        .fg(colors[rnd(colors.len())])
                        .bg(colors[rnd(colors.len())])
                        .add_modifier(mods[rnd(mods.len())]);
                    (
                        rnd(usize::from(w - 12)) as u16,
                        rnd(usize::from(h)) as u16,
                        words[rnd(words.len())],
                        st,
                    )
                })
                .collect();
            out.0.borrow_mut().clear();
            term.draw(|f| {
                let buf = f.buffer_mut();
                // The same base every frame, then this frame's edits.
                for y in 0..h {
                    buf.set_string(0, y, format!("{y:02} {}", ".".repeat(40)), Style::default());
                }
                for (x, y, text, st) in &edits {
                    buf.set_string(*x, *y, *text, *st);
                }
            })
            .unwrap();
            vt.process(&out.0.borrow());
            hides += count_in(&out.0.borrow(), b"\x1b[?25l");
            let shown = vt.screen();
            let drawn = {
                // Re-render the same content into a plain buffer to compare.
                let mut b = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
                for y in 0..h {
                    b.set_string(0, y, format!("{y:02} {}", ".".repeat(40)), Style::default());
                }
                for (x, y, text, st) in &edits {
                    b.set_string(*x, *y, *text, *st);
                }
                b
            };
            let vcolor = |c: Color| match c {
                Color::Reset => vt100::Color::Default,
                Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
                Color::Indexed(i) => vt100::Color::Idx(i),
                Color::Red => vt100::Color::Idx(1),
                other => panic!("not in the test: {other:?}"),
            };
            for y in 0..h {
                for x in 0..w {
                    let want = &drawn[(x, y)];
                    let got = shown.cell(y, x).unwrap();
                    if got.is_wide_continuation() {
                        continue;
                    }
                    let at = format!("frame {frame_no}, cell ({x}, {y})");
                    assert_eq!(got.contents().trim_end(), want.symbol().trim_end(), "{at}");
                    assert_eq!(got.fgcolor(), vcolor(want.fg), "{at}");
                    assert_eq!(got.bgcolor(), vcolor(want.bg), "{at}");
                    assert_eq!(got.bold(), want.modifier.contains(Modifier::BOLD), "{at}");
                    assert_eq!(
                        got.italic(),
                        want.modifier.contains(Modifier::ITALIC),
                        "{at}"
                    );
                    assert_eq!(
                        got.underline(),
                        want.modifier.contains(Modifier::UNDERLINED),
                        "{at}"
                    );
                    assert_eq!(
                        got.inverse(),
                        want.modifier.contains(Modifier::REVERSED),
                        "{at}"
                    );
                }
            }
        }
        // The pen is back to the default after a frame, and the cursor was
        // hidden once, not once a frame.
        assert!(out.0.borrow().ends_with(b"\x1b[0m"));
        assert_eq!(hides, 1);
    }

    #[test]
    fn ascii_glyphs_keep_the_width() {
        assert_eq!(ascii_glyph("┌"), "+");
        assert_eq!(ascii_glyph("─"), "-");
        assert_eq!(ascii_glyph("● running"), "* running");
        assert_eq!(ascii_glyph("⠋"), "?");
        assert_eq!(ascii_glyph("日"), "??");
        assert_eq!(ascii_glyph("plain"), "plain");
    }
}
