//! Unit tests of the OCR step (`ocr.rs`).

use super::*;
use image::Luma;

#[test]
fn form_from_imperfect_ocr_titles() {
    let c = Call::builtin();
    let id = |t: &str| identify_form(c, t).map(FormKey::as_str);
    assert_eq!(
        id("唐山市科技教育试点县〈市)区申报表"),
        Some("pilot_district")
    );
    assert_eq!(id("资源申报推荐表\n申报单位名称"), Some("resource"));
    assert_eq!(id("科技教育专家服务团成贝推荐表"), Some("expert"));
    assert_eq!(id("申报单位名称 联系电话"), None);
    assert_eq!(
        id("附件3\n唐山市科技教育试点县〈\n申报单位"),
        Some("pilot_district")
    );
    assert_eq!(id("试点县 试点学校"), None);
}

#[test]
fn skew_found_and_removed() {
    // Dark horizontal "text lines" drawn with a 2° slope.
    let mut img = GrayImage::from_pixel(800, 600, Luma([255]));
    let t = 2f64.to_radians().tan();
    for line in 0..12 {
        for x in 50..750u32 {
            let y = 40.0 + line as f64 * 45.0 + x as f64 * t;
            for dy in 0..4 {
                img.put_pixel(x, y as u32 + dy, Luma([0]));
            }
        }
    }
    assert!(
        (skew_degrees(&img) - 2.0).abs() < 0.25,
        "{}",
        skew_degrees(&img)
    );
    assert!(skew_degrees(&deskew(&img)).abs() < 0.25);
}

#[test]
fn rules_removed_text_kept() {
    let mut img = GrayImage::from_pixel(400, 300, Luma([255]));
    for x in 10..390 {
        img.put_pixel(x, 100, Luma([0])); // table rule
    }
    for y in 10..290 {
        img.put_pixel(200, y, Luma([0])); // column rule
    }
    for x in 50..80 {
        img.put_pixel(x, 50, Luma([0])); // a character's stroke
    }
    remove_rules(&mut img);
    assert_eq!(img.get_pixel(300, 100).0[0], 255);
    assert_eq!(img.get_pixel(300, 102).0[0], 255);
    assert_eq!(img.get_pixel(200, 250).0[0], 255);
    assert_eq!(img.get_pixel(60, 50).0[0], 0);
}

#[test]
fn tidy_joins_chinese_keeps_latin() {
    assert_eq!(
        tidy("科 普 资 源 申 报 推 荐 表\n\n电 子 邮 箱 tsyz@126.com  ok\n"),
        "科普资源申报推荐表\n电子邮箱tsyz@126.com ok\n"
    );
}

#[test]
fn vocabulary_counts_form_words() {
    assert_eq!(vocabulary_hits("申报 单位 名称\n联系 电话 138"), 3); // 申报单位, 联系电话, 电话
    assert_eq!(vocabulary_hits("湖光山色"), 0);
}

#[test]
fn prepare_whitens_red_and_keeps_black() {
    let mut page = RgbImage::from_pixel(64, 64, image::Rgb([200, 190, 170]));
    page.put_pixel(10, 10, image::Rgb([200, 40, 40])); // seal ink
    page.put_pixel(20, 20, image::Rgb([20, 20, 20])); // text
    let g = prepare(&page);
    assert_eq!(g.get_pixel(10, 10).0[0], 255);
    assert_eq!(g.get_pixel(5, 5).0[0], 255);
    assert!(g.get_pixel(20, 20).0[0] < 40);
}
