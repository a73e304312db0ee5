//! `kepu-intake serve`: the operators' read-only web page, in Chinese.
