//! Column alignment as Go's text/tabwriter does it for Docker's tables
//! (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`): a cell ends at a tab, a column block is a
//! run of consecutive lines that have that cell, and each block is as wide as its widest cell
//! plus the padding (at least the minimum width). The last cell of a line is never padded.

/// Docker's table settings.
pub const MIN_WIDTH: usize = 10;
pub const PADDING: usize = 3;

/// Aligns tab-separated `text` with Docker's settings.
pub fn align(text: &str) -> String {
    align_with(text, MIN_WIDTH, PADDING)
}

pub fn align_with(text: &str, min_width: usize, padding: usize) -> String {
    let mut raw: Vec<&str> = text.split('\n').collect();
    // A trailing newline ends the last line rather than starting an empty one.
    let ends_with_newline = raw.last() == Some(&"");
    if ends_with_newline {
        raw.pop();
    }
    let lines: Vec<Vec<&str>> = raw.iter().map(|l| l.split('\t').collect()).collect();
    let mut writer = Aligner {
        lines: &lines,
        min_width,
        padding,
        out: String::with_capacity(text.len() * 2),
        ends_with_newline,
    };
    let mut widths = Vec::new();
    writer.format(&mut widths, 0, lines.len());
    writer.out
}

struct Aligner<'a> {
    lines: &'a [Vec<&'a str>],
    min_width: usize,
    padding: usize,
    out: String,
    ends_with_newline: bool,
}

impl Aligner<'_> {
    fn format(&mut self, widths: &mut Vec<usize>, mut line0: usize, line1: usize) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(widths, line0, this);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(cell_width(self.lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(widths, line0, line1);
    }

    fn write_lines(&mut self, widths: &[usize], line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(cell);
                if let Some(&width) = widths.get(j) {
                    let pad = width.saturating_sub(cell_width(cell));
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i + 1 < self.lines.len() || self.ends_with_newline {
                self.out.push('\n');
            }
        }
    }
}

fn cell_width(cell: &str) -> usize {
    cell.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_ps_header_and_rows() {
        let text = "CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:1.35\tx\n";
        assert_eq!(
            align(text),
            "CONTAINER ID   IMAGE          NAMES\nabc            busybox:1.35   x\n"
        );
    }

    #[test]
    fn short_columns_get_the_minimum_width() {
        assert_eq!(align("A\tB\n"), "A         B\n");
        assert_eq!(
            align("PORTS\tNAMES\n\tx\n"),
            "PORTS     NAMES\n          x\n"
        );
    }

    #[test]
    fn blocks_are_per_run_of_lines() {
        // The middle line has no tab, so it splits the first column into two blocks.
        let text = "aaaaaaaaaaaaaaa\tx\nplain\nb\ty\n";
        assert_eq!(align(text), "aaaaaaaaaaaaaaa   x\nplain\nb         y\n");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(align("é\tx\n"), "é         x\n");
    }

    /// Property: every aligned line keeps its cells in order and all tab-terminated cells of
    /// a uniform table start at the same offsets.
    #[test]
    fn uniform_tables_line_up() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize
        };
        for _ in 0..50 {
            let cols = 1 + next() % 5;
            let rows = 1 + next() % 6;
            let table: Vec<Vec<String>> = (0..rows)
                .map(|_| (0..cols).map(|_| "x".repeat(next() % 25)).collect())
                .collect();
            let text: String = table.iter().map(|r| r.join("\t") + "\n").collect();
            let out = align(&text);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), rows);
            for c in 0..cols.saturating_sub(1) {
                let width = table
                    .iter()
                    .map(|r| r[c].len() + PADDING)
                    .max()
                    .unwrap()
                    .max(MIN_WIDTH);
                let start: usize = (0..c)
                    .map(|k| {
                        table
                            .iter()
                            .map(|r| r[k].len() + PADDING)
                            .max()
                            .unwrap()
                            .max(MIN_WIDTH)
                    })
                    .sum();
                for (line, row) in lines.iter().zip(&table) {
                    assert_eq!(&line[start..start + row[c].len()], row[c]);
                    assert!(
                        line[start + row[c].len()..start + width]
                            .bytes()
                            .all(|b| b == b' ')
                    );
                }
            }
        }
    }
}
