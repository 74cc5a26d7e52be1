/// Maps byte offsets to 1-based line and character columns.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset of each line's start; exact size, kept for the whole run.
    starts: Box<[u32]>,
}

impl LineIndex {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub fn new(text: &str) -> Self {
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
        let mut starts = Vec::with_capacity(lines + 1);
        starts.push(0);
        starts.extend(memchr_newlines(text.as_bytes()).map(|i| i as u32 + 1));
        LineIndex {
            starts: starts.into_boxed_slice(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: u32) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, text: &str, offset: u32) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1] as usize;
        let end = offset as usize;
        // Without the text (a file changed since it was read), count bytes instead.
        let col = text
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(end.saturating_sub(start));
        (line, col as u32 + 1)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text<'a>(&self, text: &'a str, line: u32) -> &'a str {
        let Some(&start) = self.starts.get(line as usize - 1) else {
            return "";
        };
        let end = self
            .starts
            .get(line as usize)
            .map(|&e| e as usize)
            .unwrap_or(text.len());
        text.get(start as usize..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let text = "ab\ncdé\nf";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        assert_eq!(idx.line_col(text, 7), (2, 4));
        assert_eq!(idx.line_col(text, 8), (3, 1));
        assert_eq!(idx.line_text(text, 2), "cdé");
        assert_eq!(idx.line_count(), 3);
    }
}
