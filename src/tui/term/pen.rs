//! The least a frame has to write: from the terminal's current pen (colours
//! and attributes) to the next cell's, only what differs, or a reset and
//! what is set when that is shorter; and the shortest cursor move that does
//! not depend on how wide the terminal thinks a glyph is.

use super::{ColorDepth, map_color};
use ratatui::style::{Color, Modifier};
use std::fmt::Write as _;

/// What the terminal draws the next glyph with: colours as it shows them
/// (mapped to its depth, so two theme colours that map alike are one pen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pen {
    pub fg: Color,
    pub bg: Color,
    pub modifier: Modifier,
}

/// Attributes and their SGR "on" parameters.
const ON: [(Modifier, u8); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

/// Attributes and the SGR parameter that turns them off (22 ends bold and
/// dim together, 25 both blinks).
const OFF: [(Modifier, u8); 7] = [
    (Modifier::BOLD.union(Modifier::DIM), 22),
    (Modifier::ITALIC, 23),
    (Modifier::UNDERLINED, 24),
    (Modifier::SLOW_BLINK.union(Modifier::RAPID_BLINK), 25),
    (Modifier::REVERSED, 27),
    (Modifier::HIDDEN, 28),
    (Modifier::CROSSED_OUT, 29),
];

impl Pen {
    /// The terminal's default: what a reset (`SGR 0`) leaves.
    pub const RESET: Pen = Pen {
        fg: Color::Reset,
        bg: Color::Reset,
        modifier: Modifier::empty(),
    };

    /// A cell's style as a terminal of `depth` shows it.
    pub fn new(fg: Color, bg: Color, modifier: Modifier, depth: ColorDepth) -> Pen {
        Pen {
            fg: map_color(fg, depth),
            bg: map_color(bg, depth),
            modifier,
        }
    }
}

/// `;P` for each attribute of `m`.
fn push_on(params: &mut String, m: Modifier) {
    for (flag, code) in ON {
        if m.contains(flag) {
            let _ = write!(params, ";{code}");
        }
    }
}

/// The SGR parameters for a colour (`fg` picks 3x/9x or 4x/10x), each with
/// its leading `;`. The colour is already mapped to the terminal's depth.
fn push_color(params: &mut String, c: Color, fg: bool) {
    let base: u16 = if fg { 30 } else { 40 };
    let named = |i: u8| {
        if i < 8 {
            u16::from(i) + base
        } else {
            u16::from(i) - 8 + base + 60
        }
    };
    let _ = match c {
        Color::Reset => write!(params, ";{}", base + 9),
        Color::Black => write!(params, ";{}", named(0)),
        Color::Red => write!(params, ";{}", named(1)),
        Color::Green => write!(params, ";{}", named(2)),
        Color::Yellow => write!(params, ";{}", named(3)),
        Color::Blue => write!(params, ";{}", named(4)),
        Color::Magenta => write!(params, ";{}", named(5)),
        Color::Cyan => write!(params, ";{}", named(6)),
        Color::Gray => write!(params, ";{}", named(7)),
        Color::DarkGray => write!(params, ";{}", named(8)),
        Color::LightRed => write!(params, ";{}", named(9)),
        Color::LightGreen => write!(params, ";{}", named(10)),
        Color::LightYellow => write!(params, ";{}", named(11)),
        Color::LightBlue => write!(params, ";{}", named(12)),
        Color::LightMagenta => write!(params, ";{}", named(13)),
        Color::LightCyan => write!(params, ";{}", named(14)),
        Color::White => write!(params, ";{}", named(15)),
        Color::Indexed(i) if i < 16 => write!(params, ";{}", named(i)),
        Color::Indexed(i) => write!(params, ";{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => write!(params, ";{};2;{r};{g};{b}", base + 8),
    };
}

/// From a reset: `0` and whatever `to` sets.
fn from_reset(params: &mut String, to: Pen) {
    params.push_str(";0");
    push_on(params, to.modifier);
    if to.fg != Color::Reset {
        push_color(params, to.fg, true);
    }
    if to.bg != Color::Reset {
        push_color(params, to.bg, false);
    }
}

/// From `from`: what it has that `to` has not turned off, what `to` adds
/// turned on, changed colours set.
fn from_pen(params: &mut String, from: Pen, to: Pen) {
    let mut now = from.modifier;
    for (flags, code) in OFF {
        if now.intersects(flags) && !to.modifier.contains(now.intersection(flags)) {
            let _ = write!(params, ";{code}");
            now.remove(flags);
        }
    }
    push_on(params, to.modifier.difference(now));
    if to.fg != from.fg {
        push_color(params, to.fg, true);
    }
    if to.bg != from.bg {
        push_color(params, to.bg, false);
    }
}

/// Append the SGR sequence that takes the terminal from `from` (`None`: not
/// known) to `to`: only the differences, or a reset and what `to` sets,
/// whichever is shorter. Nothing when they are the same pen.
pub fn change(out: &mut String, from: Option<Pen>, to: Pen) {
    let mut params = String::new();
    match from {
        Some(f) if f == to => return,
        Some(f) => {
            from_pen(&mut params, f, to);
            let mut reset = String::new();
            from_reset(&mut reset, to);
            if reset.len() < params.len() {
                params = reset;
            }
        }
        None => from_reset(&mut params, to),
    }
    out.push_str("\x1b[");
    // Each parameter was written with a leading `;`.
    out.push_str(&params[1..]);
    out.push('m');
}

/// Where the cursor is after the last glyph written, as far as a move can
/// rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    /// The cell the glyph was drawn in.
    pub x: u16,
    pub y: u16,
    /// Whether the glyph was plain ASCII (one column on every terminal), so
    /// the cursor is known to stand at `x + 1`.
    pub ascii: bool,
}

/// Append the shortest move to cell (`x`, `y`) (0-based) from `after`
/// (`None`: the cursor's place is not known). Nothing when the cursor is
/// already there. Relative moves are used only where the column is certain:
/// after an ASCII glyph on the same row.
pub fn move_to(out: &mut String, after: Option<After>, x: u16, y: u16) {
    let same_row = after.filter(|a| a.y == y);
    if let Some(a) = same_row {
        if x == a.x + 1 {
            return;
        }
        // The column, absolute (CHA): right whatever width the last glyph had.
        let cha = format!("\x1b[{}G", x + 1);
        if a.ascii && x > a.x + 1 {
            // Forward (CUF) from the column after an ASCII glyph.
            let n = x - a.x - 1;
            let cuf = if n == 1 {
                "\x1b[C".to_string()
            } else {
                format!("\x1b[{n}C")
            };
            if cuf.len() < cha.len() {
                out.push_str(&cuf);
                return;
            }
        }
        out.push_str(&cha);
        return;
    }
    // CUP is 1-based; the column is 1 when left out.
    if x == 0 {
        let _ = write!(out, "\x1b[{}H", y + 1);
    } else {
        let _ = write!(out, "\x1b[{};{}H", y + 1, x + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sgr(from: Option<Pen>, to: Pen) -> String {
        let mut s = String::new();
        change(&mut s, from, to);
        s
    }

    fn pen(fg: Color, bg: Color, m: Modifier) -> Pen {
        Pen {
            fg,
            bg,
            modifier: m,
        }
    }

    #[test]
    fn only_what_differs_is_written() {
        let red = Color::Rgb(0xff, 0x5f, 0x5f);
        let sel = Color::Rgb(0x30, 0x40, 0x60);
        let a = pen(red, Color::Reset, Modifier::empty());
        // Not known: a reset first.
        assert_eq!(sgr(None, a), "\x1b[0;38;2;255;95;95m");
        assert_eq!(sgr(None, Pen::RESET), "\x1b[0m");
        // The same pen: nothing.
        assert_eq!(sgr(Some(a), a), "");
        // From the default: only the colour.
        assert_eq!(sgr(Some(Pen::RESET), a), "\x1b[38;2;255;95;95m");
        // Only the background changes.
        let b = pen(red, sel, Modifier::empty());
        assert_eq!(sgr(Some(a), b), "\x1b[48;2;48;64;96m");
        // Bold added, then taken away.
        let bold = pen(red, sel, Modifier::BOLD);
        assert_eq!(sgr(Some(b), bold), "\x1b[1m");
        assert_eq!(sgr(Some(bold), b), "\x1b[22m");
        // Bold off keeps dim: 22 ends both, so dim is set again.
        let dim_bold = pen(red, sel, Modifier::BOLD | Modifier::DIM);
        let dim = pen(red, sel, Modifier::DIM);
        assert_eq!(sgr(Some(dim_bold), dim), "\x1b[22;2m");
        // Back to the default: a reset is shorter than 39;49;22.
        assert_eq!(sgr(Some(bold), Pen::RESET), "\x1b[0m");
        // Swapping one attribute for another: a reset is shorter than its "off".
        let rev = pen(Color::Reset, Color::Reset, Modifier::REVERSED);
        let crossed = pen(Color::Reset, Color::Reset, Modifier::CROSSED_OUT);
        assert_eq!(sgr(Some(rev), crossed), "\x1b[0;9m");
        assert_eq!(sgr(Some(crossed), rev), "\x1b[0;7m");
        // With a colour kept, the "off" is shorter than setting it again.
        let red_rev = pen(red, Color::Reset, Modifier::REVERSED);
        assert_eq!(sgr(Some(red_rev), a), "\x1b[27m");
    }

    #[test]
    fn every_change_ends_where_a_full_reset_would() {
        // Replay each sequence on a model terminal: the pen after it is `to`.
        fn apply(mut p: Pen, seq: &str) -> Pen {
            let body = seq
                .strip_prefix("\x1b[")
                .and_then(|s| s.strip_suffix('m'))
                .expect("an SGR sequence");
            let nums: Vec<u16> = body.split(';').map(|n| n.parse().unwrap()).collect();
            let mut i = 0;
            let color = |nums: &[u16], i: &mut usize| match nums[*i + 1] {
                2 => {
                    let c = Color::Rgb(nums[*i + 2] as u8, nums[*i + 3] as u8, nums[*i + 4] as u8);
                    *i += 4;
                    c
                }
                _ => {
                    let c = Color::Indexed(nums[*i + 2] as u8);
                    *i += 2;
                    c
                }
            };
            while i < nums.len() {
                match nums[i] {
                    0 => p = Pen::RESET,
                    n @ 1..=9 => p.modifier.insert(ON[usize::from(n - 1)].0),
                    22 => p.modifier.remove(Modifier::BOLD | Modifier::DIM),
                    23 => p.modifier.remove(Modifier::ITALIC),
                    24 => p.modifier.remove(Modifier::UNDERLINED),
                    25 => p
                        .modifier
                        .remove(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK),
                    27 => p.modifier.remove(Modifier::REVERSED),
                    28 => p.modifier.remove(Modifier::HIDDEN),
                    29 => p.modifier.remove(Modifier::CROSSED_OUT),
                    38 => p.fg = color(&nums, &mut i),
                    39 => p.fg = Color::Reset,
                    48 => p.bg = color(&nums, &mut i),
                    49 => p.bg = Color::Reset,
                    n => panic!("unexpected parameter {n}"),
                }
                i += 1;
            }
            p
        }
        let colors = [Color::Reset, Color::Rgb(1, 2, 3), Color::Indexed(200)];
        let mods: Vec<Modifier> = (0u16..512)
            .step_by(7)
            .map(Modifier::from_bits_truncate)
            .collect();
        let pens: Vec<Pen> = colors
            .iter()
            .flat_map(|f| colors.iter().map(move |b| (*f, *b)))
            .flat_map(|(f, b)| mods.iter().map(move |m| pen(f, b, *m)))
            .collect();
        for from in &pens {
            for to in pens.iter().step_by(5) {
                let seq = sgr(Some(*from), *to);
                if from == to {
                    assert_eq!(seq, "");
                    continue;
                }
                assert_eq!(apply(*from, &seq), *to, "{from:?} -> {to:?}: {seq:?}");
            }
        }
    }

    #[test]
    fn moves_are_short_and_never_trust_a_wide_glyph() {
        let mv = |after: Option<After>, x, y| {
            let mut s = String::new();
            move_to(&mut s, after, x, y);
            s
        };
        let at = |x, y, ascii| Some(After { x, y, ascii });
        assert_eq!(mv(None, 0, 0), "\x1b[1H");
        assert_eq!(mv(None, 9, 4), "\x1b[5;10H");
        // The next cell: no move.
        assert_eq!(mv(at(3, 4, true), 4, 4), "");
        assert_eq!(mv(at(3, 4, false), 4, 4), "");
        // A gap on the same row after ASCII: forward.
        assert_eq!(mv(at(3, 4, true), 5, 4), "\x1b[C");
        assert_eq!(mv(at(3, 4, true), 12, 4), "\x1b[8C");
        // After a wide or unknown glyph: the column, absolute.
        assert_eq!(mv(at(3, 4, false), 5, 4), "\x1b[6G");
        // Backwards: absolute.
        assert_eq!(mv(at(30, 4, true), 2, 4), "\x1b[3G");
        // Another row: CUP.
        assert_eq!(mv(at(3, 4, true), 3, 5), "\x1b[6;4H");
    }
}
