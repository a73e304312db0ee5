//! A document's format as sniffed from its bytes (never from the sender's file name):
//! the `format` value of `dump --json`.

crate::domain_codes! {
    /// What the bytes are.
    pub enum DocFormat {
        Docx = "docx", "Word 文档";
        Doc = "doc", "Word 97 文档";
        Wps = "wps", "WPS 文字文档";
        Rtf = "rtf", "RTF 文档";
        Odt = "odt", "ODF 文本文档";
        Xlsx = "xlsx", "Excel 表格";
        Xlsb = "xlsb", "Excel 二进制表格";
        Xls = "xls", "Excel 97 表格";
        Ods = "ods", "ODF 表格";
        Pptx = "pptx", "PowerPoint 演示文稿";
        Ppt = "ppt", "PowerPoint 97 演示文稿";
        Pdf = "pdf", "PDF";
        Ofd = "ofd", "OFD 版式文档";
        Jpg = "jpg", "JPEG 图片";
        Png = "png", "PNG 图片";
        Gif = "gif", "GIF 图片";
        Tiff = "tiff", "TIFF 图片";
        Bmp = "bmp", "BMP 图片";
        Webp = "webp", "WebP 图片";
        Heic = "heic", "HEIC 图片";
        Zip = "zip", "ZIP 压缩包";
        Rar = "rar", "RAR 压缩包";
        SevenZ = "7z", "7z 压缩包";
        Gz = "gz", "gzip 压缩包";
        Eml = "eml", "邮件";
        Msg = "msg", "Outlook 邮件";
        Tnef = "tnef", "Outlook winmail.dat";
        Ole = "ole", "Office 97 复合文件";
        Html = "html", "网页";
        Txt = "txt", "纯文本";
        CloudLink = "cloud_link", "超大附件链接";
        Unknown = "unknown", "未知格式";
    }
}

impl DocFormat {
    /// Reads a sniffed format; anything this build does not name is `unknown`.
    pub fn from_sniffed(s: &str) -> DocFormat {
        DocFormat::parse(s).unwrap_or(DocFormat::Unknown)
    }

    /// Office documents the form parsers read (PDF text is tried separately).
    pub fn is_office_form(self) -> bool {
        use DocFormat::*;
        matches!(self, Docx | Doc | Wps | Rtf | Odt | Xlsx | Xlsb | Xls | Ods)
    }

    /// Pictures examined as scans.
    pub fn is_image(self) -> bool {
        use DocFormat::*;
        matches!(self, Jpg | Png | Tiff | Bmp | Gif | Webp | Heic)
    }

    /// Archives the extractor opens.
    pub fn is_openable_archive(self) -> bool {
        use DocFormat::*;
        matches!(self, Zip | Rar | SevenZ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_the_sniffer_names_is_a_format() {
        for ext in [
            "docx", "doc", "wps", "xlsx", "xlsb", "xls", "pptx", "ppt", "pdf", "jpg", "png", "gif",
            "tiff", "bmp", "webp", "heic", "zip", "rar", "7z", "gz", "eml", "msg", "rtf", "odt",
            "ods", "ofd", "txt", "html",
        ] {
            assert!(DocFormat::parse(ext).is_some(), "{ext} is not a DocFormat");
        }
        // What sniffing actually returns for a few byte patterns.
        for (bytes, name) in [
            (&b"%PDF-1.4"[..], "a.pdf"),
            (b"\x89PNG\r\n\x1a\n", "a.png"),
            (b"hello", "a.txt"),
            (b"", "a.bin"),
        ] {
            let f = crate::extract::sniff(bytes, name);
            assert!(DocFormat::parse(&f).is_some(), "sniff said {f}");
        }
        assert_eq!(DocFormat::from_sniffed("nonsense"), DocFormat::Unknown);
    }
}
