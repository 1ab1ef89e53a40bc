//! Federal law texts in Markdown (gesetze-im-internet exports) split into sections.
