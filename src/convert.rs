//! External converters: LibreOffice headless (.doc/.wps/.rtf/.odt → .docx) and poppler
//! (`pdftotext -layout`, `pdftoppm`). Each call has its own profile dir, a timeout, no
//! shell, and is judged by its output file, not its exit status.
