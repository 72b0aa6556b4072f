//! Files on the in-memory volume: CreateFile on paths (dispositions, access, share modes,
//! delete-pending), ReadFile/WriteFile at the file pointer, SetFilePointer(Ex),
//! SetEndOfFile, GetFileSize(Ex), FlushFileBuffers, DeleteFile, GetFileType,
//! CreateDirectory/RemoveDirectory, and file-backed sections (CreateFileMapping with a
//! file handle, views coherent with ReadFile/WriteFile). Each test cites its fact in
//! docs/semantics.md §28 and the fact's primary source (Wine's kernel32 file.c and
//! virtual.c suites, which run on Windows; Microsoft Learn).

use crate::support::*;
use sim_core::prelude::*;

const F: &str = r"C:\test.txt";

/// CreateFile that must succeed.
async fn open(ctx: &ThreadCtx, path: &str, access: u32, share: u32, disposition: u32) -> HANDLE {
    let h = ctx.create_file(path, access, share, None, disposition, 0, HANDLE::NULL).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateFile({path}) failed: {:?}", ctx.get_last_error());
    h
}

/// CreateFile that must fail: its error.
async fn open_error(ctx: &ThreadCtx, path: &str, access: u32, share: u32, disposition: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let h = ctx.create_file(path, access, share, None, disposition, 0, HANDLE::NULL).await;
    assert_eq!(h, INVALID_HANDLE_VALUE, "CreateFile({path}, 0x{access:x}, 0x{share:x}, {disposition}) succeeded");
    ctx.get_last_error()
}

async fn write(ctx: &ThreadCtx, h: HANDLE, data: &[u8]) {
    let mut n = 0;
    assert_eq!(ctx.write_file(h, data, Some(&mut n)).await, TRUE, "WriteFile: {:?}", ctx.get_last_error());
    assert_eq!(n as usize, data.len());
}

async fn read(ctx: &ThreadCtx, h: HANDLE, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut n = 0;
    assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, TRUE, "ReadFile: {:?}", ctx.get_last_error());
    buf.truncate(n as usize);
    buf
}

async fn size(ctx: &ThreadCtx, h: HANDLE) -> i64 {
    let mut s = 0;
    assert_eq!(ctx.get_file_size_ex(h, Some(&mut s)).await, TRUE);
    s
}

async fn seek(ctx: &ThreadCtx, h: HANDLE, to: i64) {
    assert_eq!(ctx.set_file_pointer_ex(h, to, None, FILE_BEGIN).await, TRUE);
}

const RW: u32 = GENERIC_READ | GENERIC_WRITE;
const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// §28.4 (Microsoft Learn, CreateFile, dwCreationDisposition; Wine file.c
/// test_file_sharing checks the last error 0 on success): CREATE_NEW creates (last error
/// 0) and fails with ERROR_FILE_EXISTS over a file; CREATE_ALWAYS and OPEN_ALWAYS over an
/// existing file succeed with ERROR_ALREADY_EXISTS, and with 0 when they create;
/// OPEN_EXISTING and TRUNCATE_EXISTING on a missing file fail with ERROR_FILE_NOT_FOUND.
#[test]
fn dispositions_and_their_last_errors() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(open_error(&ctx, F, RW, 0, CREATE_NEW).await, ERROR_FILE_EXISTS);
        for d in [CREATE_ALWAYS, OPEN_ALWAYS] {
            ctx.set_last_error(SENTINEL);
            let h = open(&ctx, F, RW, 0, d).await;
            assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS, "disposition {d}");
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        ctx.set_last_error(SENTINEL);
        let h = open(&ctx, F, GENERIC_READ, 0, OPEN_EXISTING).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        for (i, d) in [CREATE_ALWAYS, OPEN_ALWAYS].into_iter().enumerate() {
            let name = format!(r"C:\new{i}.txt");
            ctx.set_last_error(SENTINEL);
            let h = open(&ctx, &name, RW, 0, d).await;
            assert_eq!(ctx.get_last_error(), ERROR_SUCCESS, "disposition {d} creating");
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        for d in [OPEN_EXISTING, TRUNCATE_EXISTING] {
            assert_eq!(open_error(&ctx, r"C:\missing.txt", RW, 0, d).await, ERROR_FILE_NOT_FOUND);
        }
        0
    });
}

/// §28.5 (Microsoft Learn, CreateFile; WinFsp's winfstest 05_CreateFile_Truncation, run
/// against NTFS): a disposition outside 1..=5 is ERROR_INVALID_PARAMETER, and so is
/// TRUNCATE_EXISTING without GENERIC_WRITE in the request.
#[test]
fn bad_dispositions_and_truncate_without_generic_write() {
    check(|ctx| async move {
        for d in [0, 6, 0xFFFF_FFFF] {
            assert_eq!(open_error(&ctx, F, RW, 0, d).await, ERROR_INVALID_PARAMETER);
        }
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, b"data").await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, 0, TRUNCATE_EXISTING).await, ERROR_INVALID_PARAMETER);
        assert_eq!(open_error(&ctx, F, FILE_WRITE_DATA, 0, TRUNCATE_EXISTING).await, ERROR_INVALID_PARAMETER);
        0
    });
}

/// §28.6 (Microsoft Learn, CreateFile): CREATE_ALWAYS and TRUNCATE_EXISTING empty an
/// existing file; OPEN_ALWAYS and OPEN_EXISTING keep its bytes.
#[test]
fn create_always_and_truncate_existing_empty_the_file() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, b"0123456789").await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        for (d, want) in [(OPEN_ALWAYS, 10), (OPEN_EXISTING, 10), (TRUNCATE_EXISTING, 0)] {
            let h = open(&ctx, F, RW, 0, d).await;
            assert_eq!(size(&ctx, h).await, want, "disposition {d}");
            write(&ctx, h, b"0123456789").await;
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        let h = open(&ctx, F, RW, 0, CREATE_ALWAYS).await;
        assert_eq!(size(&ctx, h).await, 0);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        0
    });
}

/// §28.2 (Microsoft Learn, Naming Files, Paths, and Namespaces): names are
/// case-insensitive, `/` separates as `\` does, `.` and `..` resolve, a path without a
/// drive is on C: (winsim's current directory is C:\ [inferred]); another drive letter
/// has no volume (ERROR_PATH_NOT_FOUND), and `<>:"|?*` in a name are ERROR_INVALID_NAME.
#[test]
fn paths_are_case_insensitive_and_checked() {
    check(|ctx| async move {
        let h = open(&ctx, r"C:\Data.BIN", RW, SHARE_ALL, CREATE_NEW).await;
        write(&ctx, h, b"x").await;
        for alias in [r"c:\data.bin", "C:/DATA.bin", r"\data.bin", "data.bin", r"C:\sub\..\.\DATA.BIN"] {
            let h2 = open(&ctx, alias, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
            assert_eq!(read(&ctx, h2, 4).await, b"x", "{alias}");
            assert_eq!(ctx.close_handle(h2).await, TRUE);
        }
        assert_eq!(open_error(&ctx, r"D:\data.bin", RW, 0, OPEN_ALWAYS).await, ERROR_PATH_NOT_FOUND);
        assert_eq!(open_error(&ctx, r"C:\a?b.txt", RW, 0, OPEN_ALWAYS).await, ERROR_INVALID_NAME);
        assert_eq!(open_error(&ctx, r"C:\a<b.txt", RW, 0, OPEN_ALWAYS).await, ERROR_INVALID_NAME);
        assert_eq!(open_error(&ctx, "", RW, 0, OPEN_ALWAYS).await, ERROR_PATH_NOT_FOUND);
        0
    });
}

/// §28.3 (Wine file.c test_FindFirstFileA / test_CreateFileA: a missing directory on the
/// way is ERROR_PATH_NOT_FOUND; Microsoft Learn, CreateFile: a directory opens only with
/// FILE_FLAG_BACKUP_SEMANTICS; CreateDirectory, RemoveDirectory): directories must exist;
/// CreateFile on one is ERROR_ACCESS_DENIED; CreateDirectory fails with
/// ERROR_ALREADY_EXISTS and ERROR_PATH_NOT_FOUND; RemoveDirectory with
/// ERROR_DIR_NOT_EMPTY, ERROR_DIRECTORY (a file) and ERROR_FILE_NOT_FOUND.
#[test]
fn directories() {
    check(|ctx| async move {
        assert_eq!(open_error(&ctx, r"C:\dir\f.txt", RW, 0, CREATE_ALWAYS).await, ERROR_PATH_NOT_FOUND);
        assert_eq!(ctx.create_directory(r"C:\dir", None).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.create_directory(r"C:\DIR", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_eq!(ctx.create_directory(r"C:\no\such", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PATH_NOT_FOUND);
        let h = open(&ctx, r"C:\dir\f.txt", RW, 0, CREATE_ALWAYS).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(open_error(&ctx, r"C:\dir", GENERIC_READ, 0, OPEN_EXISTING).await, ERROR_ACCESS_DENIED);
        // A file is no directory on the way.
        assert_eq!(open_error(&ctx, r"C:\dir\f.txt\g", RW, 0, CREATE_ALWAYS).await, ERROR_PATH_NOT_FOUND);
        assert_eq!(ctx.remove_directory(r"C:\dir").await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_DIR_NOT_EMPTY);
        assert_eq!(ctx.remove_directory(r"C:\dir\f.txt").await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_DIRECTORY);
        assert_eq!(ctx.delete_file(r"C:\dir\f.txt").await, TRUE);
        assert_eq!(ctx.remove_directory(r"C:\dir").await, TRUE);
        assert_eq!(ctx.remove_directory(r"C:\dir").await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        0
    });
}

/// §28.7 (Microsoft Learn, ReadFile and WriteFile: the handle must have been created with
/// read (write) access; Wine file.c): ReadFile on a handle without FILE_READ_DATA and
/// WriteFile on one without write access fail with ERROR_ACCESS_DENIED; a handle with
/// only FILE_APPEND_DATA writes at the end of the file (§28.11).
#[test]
fn access_checks_and_append_only_handles() {
    check(|ctx| async move {
        let w = open(&ctx, F, GENERIC_WRITE, SHARE_ALL, CREATE_NEW).await;
        write(&ctx, w, b"abc").await;
        let mut buf = [0u8; 4];
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(w, &mut buf, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        let r = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(r, b"x", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        let a = open(&ctx, F, FILE_APPEND_DATA, SHARE_ALL, OPEN_EXISTING).await;
        write(&ctx, a, b"de").await;
        // w writes at its own pointer (3), a at the end of file (5).
        write(&ctx, w, b"X").await;
        write(&ctx, a, b"f").await;
        assert_eq!(read(&ctx, r, 16).await, b"abcXef");
        0
    });
}

/// §28.8 (Wine file.c test_file_sharing, is_sharing_compatible: every pair of 24 access
/// masks × 8 share modes, on Windows): a second open fails with ERROR_SHARING_VIOLATION
/// when either open has a data right (read/execute, write/append, delete) the other does
/// not share; an open with no data right takes part in no check.
#[test]
fn share_mode_table() {
    fn compatible(a1: u32, s1: u32, a2: u32, s2: u32) -> bool {
        // Wine's is_sharing_compatible, restated.
        let map = |a: u32| {
            let mut m = a & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
            if a & GENERIC_READ != 0 {
                m |= FILE_READ_DATA;
            }
            if a & GENERIC_WRITE != 0 {
                m |= FILE_WRITE_DATA | FILE_APPEND_DATA;
            }
            if a & GENERIC_EXECUTE != 0 {
                m |= FILE_EXECUTE;
            }
            m & (FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_EXECUTE | DELETE)
        };
        let (a1, a2) = (map(a1), map(a2));
        let s1 = if a1 == 0 { 7 } else { s1 };
        let s2 = if a2 == 0 { 7 } else { s2 };
        let bad = |a: u32, s: u32| {
            (a & (FILE_READ_DATA | FILE_EXECUTE) != 0 && s & FILE_SHARE_READ == 0)
                || (a & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 && s & FILE_SHARE_WRITE == 0)
                || (a & DELETE != 0 && s & FILE_SHARE_DELETE == 0)
        };
        !bad(a1, s2) && !bad(a2, s1)
    }
    const ACCESS: [u32; 14] = [
        0,
        GENERIC_READ,
        GENERIC_WRITE,
        GENERIC_READ | GENERIC_WRITE,
        DELETE,
        GENERIC_READ | DELETE,
        GENERIC_WRITE | DELETE,
        GENERIC_EXECUTE,
        FILE_READ_DATA,
        FILE_WRITE_DATA,
        FILE_APPEND_DATA,
        FILE_EXECUTE,
        FILE_READ_ATTRIBUTES,
        FILE_WRITE_ATTRIBUTES,
    ];
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        let mut checked = 0;
        for a1 in ACCESS {
            for s1 in 0..8 {
                let h1 = open(&ctx, F, a1, s1, OPEN_EXISTING).await;
                for a2 in ACCESS {
                    for s2 in 0..8 {
                        ctx.set_last_error(SENTINEL);
                        let h2 = ctx.create_file(F, a2, s2, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                        if compatible(a1, s1, a2, s2) {
                            assert_ne!(h2, INVALID_HANDLE_VALUE, "{a1:x}/{s1:x} then {a2:x}/{s2:x}");
                            assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
                            assert_eq!(ctx.close_handle(h2).await, TRUE);
                        } else {
                            assert_eq!(h2, INVALID_HANDLE_VALUE, "{a1:x}/{s1:x} then {a2:x}/{s2:x}");
                            assert_eq!(ctx.get_last_error(), ERROR_SHARING_VIOLATION);
                        }
                        checked += 1;
                    }
                }
                assert_eq!(ctx.close_handle(h1).await, TRUE);
            }
        }
        assert_eq!(checked, 14 * 8 * 14 * 8);
        // The closing test of test_file_sharing: an open sharing only read refuses a
        // reader that does not share write, and admits one that does.
        let h = open(&ctx, F, RW, FILE_SHARE_READ, OPEN_ALWAYS).await;
        assert_eq!(open_error(&ctx, F, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING).await, ERROR_SHARING_VIOLATION);
        let h2 = open(&ctx, F, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.close_handle(h2).await, TRUE);
        0
    });
}

/// §28.10 (Microsoft Learn, ReadFile: "When a synchronous read operation reaches the end
/// of a file, ReadFile returns TRUE and sets *lpNumberOfBytesRead to zero"): reads move
/// the file pointer; at or past the end they return TRUE with 0 bytes.
#[test]
fn reads_at_the_pointer_and_at_end_of_file() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, b"hello world").await;
        assert_eq!(read(&ctx, h, 4).await, b"");
        seek(&ctx, h, 0).await;
        assert_eq!(read(&ctx, h, 5).await, b"hello");
        assert_eq!(read(&ctx, h, 100).await, b" world");
        assert_eq!(read(&ctx, h, 100).await, b"");
        seek(&ctx, h, 1000).await;
        assert_eq!(read(&ctx, h, 100).await, b"");
        0
    });
}

/// §28.11 (Microsoft Learn, SetFilePointer: a pointer past the end is no error and the
/// file grows at the next write; the gap reads as zeros): a write past the end extends
/// the file with zeros before it; a zero-length write changes nothing [inferred].
#[test]
fn writes_past_the_end_extend_with_zeros() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        seek(&ctx, h, 5000).await;
        write(&ctx, h, b"Z").await;
        assert_eq!(size(&ctx, h).await, 5001);
        seek(&ctx, h, 0).await;
        let all = read(&ctx, h, 6000).await;
        assert_eq!(all.len(), 5001);
        assert!(all[..5000].iter().all(|&b| b == 0));
        assert_eq!(all[5000], b'Z');
        seek(&ctx, h, 9000).await;
        write(&ctx, h, b"").await;
        assert_eq!(size(&ctx, h).await, 5001);
        0
    });
}

/// §28.17 (ReactOS kernel32 client/file/fileinfo.c, SetFilePointer and SetFilePointerEx:
/// the method is checked and a FILE_BEGIN position worked out before the file system is
/// asked): a bad method and a negative FILE_BEGIN position fail whatever the handle, a
/// closed one included; FILE_CURRENT and FILE_END need the handle first. Found by the
/// native differential (random_files seeds 1, 2, 10), where Wine 8.0 does the same.
#[test]
fn a_bad_method_or_a_negative_file_begin_fails_before_the_handle_is_looked_at() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        let mut pos = 7i64;
        for (distance, method, error) in [
            (-1, FILE_BEGIN, ERROR_NEGATIVE_SEEK),
            (0, 7, ERROR_INVALID_PARAMETER),
            (-1, FILE_CURRENT, ERROR_INVALID_HANDLE),
            (-1, FILE_END, ERROR_INVALID_HANDLE),
            (0, FILE_BEGIN, ERROR_INVALID_HANDLE),
        ] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_file_pointer(h, distance, None, method).await, INVALID_SET_FILE_POINTER);
            assert_eq!(ctx.get_last_error(), error, "SetFilePointer({distance}, {method})");
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_file_pointer_ex(h, i64::from(distance), Some(&mut pos), method).await, FALSE);
            assert_eq!(ctx.get_last_error(), error, "SetFilePointerEx({distance}, {method})");
        }
        assert_eq!(pos, 7, "nothing written on failure");
        0
    });
}

/// §28.17 (Microsoft Learn, SetFilePointer, SetFilePointerEx): the three methods; a
/// negative result fails with INVALID_SET_FILE_POINTER and ERROR_NEGATIVE_SEEK and leaves
/// the pointer; with lpDistanceToMoveHigh the distance is 64-bit and the high part comes
/// back; a bad method is ERROR_INVALID_PARAMETER; a success whose low part is
/// 0xFFFFFFFF sets the last error to 0 (the documented way to tell it from a failure).
#[test]
fn set_file_pointer_rules() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, b"0123456789").await;
        assert_eq!(ctx.set_file_pointer(h, 2, None, FILE_BEGIN).await, 2);
        assert_eq!(ctx.set_file_pointer(h, 3, None, FILE_CURRENT).await, 5);
        assert_eq!(ctx.set_file_pointer(h, -1, None, FILE_END).await, 9);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_file_pointer(h, -20, None, FILE_CURRENT).await, INVALID_SET_FILE_POINTER);
        assert_eq!(ctx.get_last_error(), ERROR_NEGATIVE_SEEK);
        assert_eq!(read(&ctx, h, 1).await, b"9");
        assert_eq!(ctx.set_file_pointer(h, 0, None, 3).await, INVALID_SET_FILE_POINTER);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let mut high = 1;
        assert_eq!(ctx.set_file_pointer(h, 16, Some(&mut high), FILE_BEGIN).await, 16);
        assert_eq!(high, 1);
        let mut pos = 0;
        assert_eq!(ctx.set_file_pointer_ex(h, 0, Some(&mut pos), FILE_CURRENT).await, TRUE);
        assert_eq!(pos, (1 << 32) + 16);
        // With the high part, -1:-1 is -1.
        let mut high = -1;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_file_pointer(h, -1, Some(&mut high), FILE_BEGIN).await, INVALID_SET_FILE_POINTER);
        assert_eq!(ctx.get_last_error(), ERROR_NEGATIVE_SEEK);
        // With a high part of 0, a low part of -1 is 0xFFFFFFFF: 10 + 0xFFFFFFFF from the end.
        let mut high = 0;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_file_pointer(h, -1, Some(&mut high), FILE_END).await, 9);
        assert_eq!(high, 1);
        assert_eq!(ctx.get_last_error().0, SENTINEL, "a success leaves the last error");
        let mut high = 0;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_file_pointer(h, 0xFFFF_FFFFu32 as i32, Some(&mut high), FILE_BEGIN).await, 0xFFFF_FFFF);
        assert_eq!((high, ctx.get_last_error()), (0, ERROR_SUCCESS));
        0
    });
}

/// §28.15 (Microsoft Learn, SetEndOfFile): the file ends at the pointer, shrinking or
/// growing (with zeros); a handle without write access gets ERROR_ACCESS_DENIED.
#[test]
fn set_end_of_file_truncates_and_extends() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, SHARE_ALL, CREATE_NEW).await;
        write(&ctx, h, b"0123456789").await;
        seek(&ctx, h, 4).await;
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        assert_eq!(size(&ctx, h).await, 4);
        seek(&ctx, h, 8192).await;
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        assert_eq!(size(&ctx, h).await, 8192);
        seek(&ctx, h, 0).await;
        let all = read(&ctx, h, 9000).await;
        assert_eq!(&all[..4], b"0123");
        assert!(all[4..].iter().all(|&b| b == 0), "the cut bytes do not come back");
        let r = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_end_of_file(r).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        0
    });
}

/// §28.18 (Microsoft Learn, GetFileSize, GetFileSizeEx): the size with its high part;
/// sparse storage makes a 5 GiB file cost nothing until written (§28.20).
#[test]
fn get_file_size_with_the_high_part() {
    let mut c = Config::round_robin();
    c.volume_bytes_max = 1 << 40;
    let r = run_with(c, |ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        let mut high = 7;
        assert_eq!(ctx.get_file_size(h, Some(&mut high)).await, 0);
        assert_eq!(high, 0);
        seek(&ctx, h, (5 << 30) + 3).await;
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        assert_eq!(ctx.get_file_size(h, Some(&mut high)).await, (1 << 30) + 3);
        assert_eq!(high, 1);
        assert_eq!(size(&ctx, h).await, (5 << 30) + 3);
        0
    });
    assert_completed(&r);
}

/// §28.12 (Microsoft Learn, DeleteFile: "If the file is open ... DeleteFile marks a file
/// for deletion on close ... subsequent calls to CreateFile to open the file fail with
/// ERROR_ACCESS_DENIED"; a handle without FILE_SHARE_DELETE makes it fail;
/// dokan-dev/dokany #883): DeleteFile of a missing file → ERROR_FILE_NOT_FOUND; with an
/// open that does not share delete → ERROR_SHARING_VIOLATION; with opens sharing delete
/// the file is delete-pending: its name stays, opens fail with ERROR_ACCESS_DENIED, a
/// second DeleteFile too, the open handles still work, and the name goes with the last
/// handle.
#[test]
fn delete_file_and_delete_pending() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.delete_file(F).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        let h = open(&ctx, F, RW, FILE_SHARE_READ | FILE_SHARE_WRITE, CREATE_NEW).await;
        write(&ctx, h, b"keep").await;
        assert_eq!(ctx.delete_file(F).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_SHARING_VIOLATION);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        let h = open(&ctx, F, RW, SHARE_ALL, OPEN_EXISTING).await;
        let h2 = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        assert_eq!(ctx.delete_file(F).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_ACCESS_DENIED);
        assert_eq!(open_error(&ctx, F, RW, SHARE_ALL, CREATE_ALWAYS).await, ERROR_ACCESS_DENIED);
        assert_eq!(ctx.delete_file(F).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(read(&ctx, h2, 8).await, b"keep");
        write(&ctx, h, b"more").await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_ACCESS_DENIED);
        assert_eq!(ctx.close_handle(h2).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_FILE_NOT_FOUND);
        // A new file of that name starts empty.
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(size(&ctx, h).await, 0);
        // An open with no data right (attributes only) does not stop a delete (§28.8).
        let a = open(&ctx, F, FILE_READ_ATTRIBUTES, 0, OPEN_EXISTING).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.delete_file(F).await, TRUE);
        assert_eq!(ctx.close_handle(a).await, TRUE);
        assert_eq!(ctx.delete_file(r"C:\").await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        0
    });
}

/// §28.13 (Microsoft Learn, CreateFile FILE_FLAG_DELETE_ON_CLOSE; dokan-dev/dokany #883):
/// the file goes when the last handle closes; after the delete-on-close handle closed
/// with another open, opens fail with ERROR_ACCESS_DENIED; the flag asks for DELETE, so a
/// later open must share delete.
#[test]
fn delete_on_close() {
    check(|ctx| async move {
        let h = ctx.create_file(F, RW, SHARE_ALL, None, CREATE_NEW, FILE_FLAG_DELETE_ON_CLOSE, HANDLE::NULL).await;
        assert_ne!(h, INVALID_HANDLE_VALUE);
        assert_eq!(
            open_error(&ctx, F, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING).await,
            ERROR_SHARING_VIOLATION
        );
        let h2 = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_ACCESS_DENIED);
        assert_eq!(ctx.close_handle(h2).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_FILE_NOT_FOUND);
        0
    });
}

/// §28.23 (Microsoft Learn, FlushFileBuffers: "The file handle must have the
/// GENERIC_WRITE access right"): TRUE with write access, ERROR_ACCESS_DENIED without.
#[test]
fn flush_file_buffers_needs_write_access() {
    check(|ctx| async move {
        let w = open(&ctx, F, GENERIC_WRITE, SHARE_ALL, CREATE_NEW).await;
        assert_eq!(ctx.flush_file_buffers(w).await, TRUE);
        let r = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.flush_file_buffers(r).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        0
    });
}

/// §28.22 (Microsoft Learn, GetFileType; §10.7 for waits on file handles): a volume
/// file is FILE_TYPE_DISK, a pipe FILE_TYPE_PIPE, an event FILE_TYPE_UNKNOWN with
/// ERROR_INVALID_HANDLE; a file handle is signalled (its synchronous I/O is never in
/// progress between calls) [inferred].
#[test]
fn file_type_and_waiting_on_a_file_handle() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(ctx.get_file_type(h).await, FILE_TYPE_DISK);
        let (r, _w) = pipe(&ctx, 0).await;
        assert_eq!(ctx.get_file_type(r).await, FILE_TYPE_PIPE);
        let e = ctx.create_event(None, true, false, None).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_file_type(e).await, FILE_TYPE_UNKNOWN);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_OBJECT_0);
        0
    });
}

/// §28.1: the volume outlives processes: a child process opens the file its parent
/// wrote, after the parent's handle closed; a file preloaded with `Sim::file` is there
/// from the start; the report lists the volume at the end.
#[test]
fn the_volume_persists_across_processes_and_preloads() {
    let mut sim = Sim::new(Config::round_robin());
    sim.file(r"C:\in\config.ini", b"[x]\n");
    sim.program("parent.exe", |ctx| async move {
        let h = open(&ctx, r"C:\in\config.ini", GENERIC_READ, 0, OPEN_EXISTING).await;
        assert_eq!(read(&ctx, h, 64).await, b"[x]\n");
        assert_eq!(ctx.close_handle(h).await, TRUE);
        let h = open(&ctx, r"C:\out.txt", GENERIC_WRITE, 0, CREATE_NEW).await;
        write(&ctx, h, b"from parent").await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some("child.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        0
    });
    sim.program("child.exe", |ctx| async move {
        let h = open(&ctx, r"C:\OUT.TXT", RW, 0, OPEN_EXISTING).await;
        assert_eq!(read(&ctx, h, 64).await, b"from parent");
        write(&ctx, h, b", and child").await;
        0
    });
    let r = sim.run("parent.exe");
    assert_completed(&r);
    let files: Vec<(String, Vec<u8>)> = r.volume.iter().map(|f| (f.path.clone(), f.data.clone())).collect();
    assert_eq!(
        files,
        vec![
            (r"C:\in\config.ini".to_string(), b"[x]\n".to_vec()),
            (r"C:\out.txt".into(), b"from parent, and child".to_vec())
        ]
    );
}

/// §28.20: the volume's capacity (`Config::volume_bytes_max`) is the sum of file sizes;
/// a write or SetEndOfFile past it fails with ERROR_DISK_FULL (as a full disk does) and
/// the file keeps its size; the run goes on.
#[test]
fn a_full_volume_fails_writes_with_disk_full() {
    let mut c = Config::round_robin();
    c.volume_bytes_max = 10_000;
    let r = run_with(c, |ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, &[1u8; 8000]).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(h, &[2u8; 3000], None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_DISK_FULL);
        assert_eq!(size(&ctx, h).await, 8000);
        seek(&ctx, h, 1 << 40).await;
        assert_eq!(ctx.set_end_of_file(h).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_DISK_FULL);
        seek(&ctx, h, 100).await;
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        let h2 = open(&ctx, r"C:\b.txt", RW, 0, CREATE_NEW).await;
        write(&ctx, h2, &[3u8; 9000]).await;
        0
    });
    assert_completed(&r);
}

/// §28.21 (Microsoft Learn, ReadFile: a handle opened with FILE_FLAG_OVERLAPPED needs an
/// OVERLAPPED; NtReadFile wants a ByteOffset for a file opened for asynchronous I/O):
/// ReadFile and WriteFile without one fail with ERROR_INVALID_PARAMETER [inferred].
#[test]
fn an_overlapped_file_handle_has_no_file_pointer() {
    check(|ctx| async move {
        let h = ctx.create_file(F, RW, 0, None, CREATE_NEW, FILE_FLAG_OVERLAPPED, HANDLE::NULL).await;
        assert_ne!(h, INVALID_HANDLE_VALUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(h, b"x", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let mut b = [0u8; 1];
        assert_eq!(ctx.read_file(h, &mut b, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

/// Bad input never panics (§28): closed handles, other objects, NULL and junk names, huge
/// seeks; each gets the error Windows gives.
#[test]
fn bad_input_gets_errors() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_file_pointer(h, 0, None, FILE_BEGIN).await, INVALID_SET_FILE_POINTER);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.set_end_of_file(h).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.get_file_size(h, None).await, INVALID_FILE_SIZE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let e = ctx.create_event(None, true, false, None).await;
        assert_eq!(ctx.get_file_size_ex(e, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let (r, _w) = pipe(&ctx, 0).await;
        assert_eq!(ctx.set_file_pointer_ex(r, 0, None, FILE_BEGIN).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_FUNCTION);
        // A section on a pipe: STATUS_INVALID_FILE_FOR_SECTION [inferred, §28.14].
        assert!(ctx.create_file_mapping(r, None, PAGE_READONLY, 0, 0x1000, None).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_BAD_EXE_FORMAT);
        let h = open(&ctx, F, RW, 0, OPEN_EXISTING).await;
        assert_eq!(ctx.set_file_pointer_ex(h, i64::MAX, None, FILE_BEGIN).await, TRUE);
        assert_eq!(ctx.set_file_pointer_ex(h, i64::MAX, None, FILE_CURRENT).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        assert_eq!(ctx.set_file_pointer_ex(h, i64::MIN, None, FILE_END).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NEGATIVE_SEEK);
        assert_eq!(ctx.delete_file("C:\\a|b").await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_NAME);
        assert_eq!(ctx.flush_file_buffers(e).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

// ----- file-backed sections ------------------------------------------------------------

/// A file of `len` bytes `fill`, opened with `access` and shared for everything.
async fn file_of(ctx: &ThreadCtx, path: &str, access: u32, len: usize, fill: u8) -> HANDLE {
    let h = open(ctx, path, GENERIC_READ | GENERIC_WRITE, SHARE_ALL, CREATE_ALWAYS).await;
    write(ctx, h, &vec![fill; len]).await;
    assert_eq!(ctx.close_handle(h).await, TRUE);
    open(ctx, path, access, SHARE_ALL, OPEN_EXISTING).await
}

async fn mapping_error(ctx: &ThreadCtx, file: HANDLE, protect: u32, size: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let m = ctx.create_file_mapping(file, None, protect, 0, size, None).await;
    assert!(m.is_null(), "CreateFileMapping(0x{protect:x}, {size}) succeeded");
    ctx.get_last_error()
}

async fn mapping(ctx: &ThreadCtx, file: HANDLE, protect: u32, size: u32) -> HANDLE {
    let m = ctx.create_file_mapping(file, None, protect, 0, size, None).await;
    assert!(!m.is_null(), "CreateFileMapping(0x{protect:x}, {size}) failed: {:?}", ctx.get_last_error());
    m
}

/// §28.14 (Microsoft Learn, CreateFileMapping, flProtect: PAGE_READONLY and
/// PAGE_WRITECOPY need GENERIC_READ, PAGE_READWRITE needs GENERIC_READ and GENERIC_WRITE,
/// the PAGE_EXECUTE_* ones GENERIC_EXECUTE too): a protection the file handle's access
/// does not allow is ERROR_ACCESS_DENIED.
#[test]
fn file_mapping_protection_against_the_file_handles_access() {
    check(|ctx| async move {
        let r = file_of(&ctx, F, GENERIC_READ, 100, 1).await;
        assert_eq!(mapping_error(&ctx, r, PAGE_READWRITE, 0).await, ERROR_ACCESS_DENIED);
        assert_eq!(mapping_error(&ctx, r, PAGE_EXECUTE_READ, 0).await, ERROR_ACCESS_DENIED);
        for p in [PAGE_READONLY, PAGE_WRITECOPY] {
            let m = mapping(&ctx, r, p, 0).await;
            assert_eq!(ctx.close_handle(m).await, TRUE);
        }
        let w = open(&ctx, F, GENERIC_WRITE, SHARE_ALL, OPEN_EXISTING).await;
        assert_eq!(mapping_error(&ctx, w, PAGE_READONLY, 0).await, ERROR_ACCESS_DENIED);
        let x = open(&ctx, F, GENERIC_READ | GENERIC_EXECUTE, SHARE_ALL, OPEN_EXISTING).await;
        let m = mapping(&ctx, x, PAGE_EXECUTE_READ, 0).await;
        assert_eq!(ctx.close_handle(m).await, TRUE);
        0
    });
}

/// §28.14 (Microsoft Learn, CreateFileMapping: "An attempt to map a file with a length of
/// 0 (zero) fails with an error code of ERROR_FILE_INVALID"; a size larger than the file
/// extends it; a size 0 is the file's size): an empty file with size 0 is
/// ERROR_FILE_INVALID; size 0 maps the file's size (a view past it fails); a larger size
/// with PAGE_READWRITE extends the file with zeros, with PAGE_READONLY fails
/// (STATUS_SECTION_TOO_BIG, ERROR_NOT_ENOUGH_MEMORY [inferred]); SEC_RESERVE with a file
/// is ERROR_INVALID_PARAMETER [inferred].
#[test]
fn file_mapping_sizes() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, SHARE_ALL, CREATE_NEW).await;
        assert_eq!(mapping_error(&ctx, h, PAGE_READWRITE, 0).await, ERROR_FILE_INVALID);
        assert_eq!(mapping_error(&ctx, h, PAGE_READONLY, 0).await, ERROR_FILE_INVALID);
        write(&ctx, h, &[7u8; 5000]).await;
        let m = mapping(&ctx, h, PAGE_READONLY, 0).await;
        let v = ctx.map_view_of_file(m, FILE_MAP_READ, 0, 0, 0).await;
        assert_ne!(v, 0);
        assert_eq!(ctx.read_u8(v + 4999).await, 7);
        // The section is the file's 5000 bytes, rounded up to pages.
        assert_eq!(ctx.read_u8(v + 5000).await, 0);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.map_view_of_file(m, FILE_MAP_READ, 0, 0, 8193).await, 0);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(mapping_error(&ctx, h, PAGE_READONLY, 9000).await, ERROR_NOT_ENOUGH_MEMORY);
        assert_eq!(mapping_error(&ctx, h, PAGE_READWRITE | SEC_RESERVE, 0).await, ERROR_INVALID_PARAMETER);
        assert_eq!(size(&ctx, h).await, 5000);
        let m2 = mapping(&ctx, h, PAGE_READWRITE, 20000).await;
        assert_eq!(size(&ctx, h).await, 20000);
        seek(&ctx, h, 4990).await;
        let tail = read(&ctx, h, 100).await;
        assert_eq!(&tail[..10], &[7u8; 10]);
        assert!(tail[10..].iter().all(|&b| b == 0));
        // A smaller size than the file leaves the file alone.
        let m3 = mapping(&ctx, h, PAGE_READWRITE, 10).await;
        assert_eq!(size(&ctx, h).await, 20000);
        for x in [m, m2, m3] {
            assert_eq!(ctx.close_handle(x).await, TRUE);
        }
        0
    });
}

/// §28.16 (Microsoft Learn, "File Mapping": views of a file and ReadFile/WriteFile on it
/// are coherent, as the cache manager maps both; CreateFileMapping: the section keeps the
/// file open after CloseHandle of the file): a store through a view is what ReadFile
/// reads, a WriteFile is what a view loads, two sections of one file share their pages,
/// and the section keeps the data after the file handle closed and the file was deleted.
/// FlushViewOfFile succeeds (nothing is cached in virtual time).
#[test]
fn views_and_read_write_file_are_coherent() {
    check(|ctx| async move {
        let h = file_of(&ctx, F, RW, 8192, 0).await;
        let m = mapping(&ctx, h, PAGE_READWRITE, 0).await;
        let v = ctx.map_view_of_file(m, FILE_MAP_WRITE, 0, 0, 0).await;
        ctx.write_memory(v + 4094, b"view").await;
        seek(&ctx, h, 4094).await;
        assert_eq!(read(&ctx, h, 4).await, b"view");
        seek(&ctx, h, 100).await;
        write(&ctx, h, b"file").await;
        let mut b = [0u8; 4];
        ctx.read_memory(v + 100, &mut b).await;
        assert_eq!(&b, b"file");
        // A second section of the same file, and another handle.
        let h2 = open(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await;
        let m2 = mapping(&ctx, h2, PAGE_READONLY, 0).await;
        let v2 = ctx.map_view_of_file(m2, FILE_MAP_READ, 0, 0, 0).await;
        ctx.read_memory(v2 + 4094, &mut b).await;
        assert_eq!(&b, b"view");
        assert_eq!(ctx.flush_view_of_file(v, 0).await, TRUE);
        // The data outlives the file's handles and its name.
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.close_handle(h2).await, TRUE);
        assert_eq!(ctx.delete_file(F).await, TRUE);
        assert_eq!(open_error(&ctx, F, GENERIC_READ, SHARE_ALL, OPEN_EXISTING).await, ERROR_FILE_NOT_FOUND);
        ctx.write_memory(v, b"still").await;
        let mut s = [0u8; 5];
        ctx.read_memory(v2, &mut s).await;
        assert_eq!(&s, b"still");
        0
    });
}

/// §28.16 (Microsoft Learn, MapViewOfFile FILE_MAP_COPY: "changes are not written to the
/// original file"): a copy-on-write view's stores stay in the view; ReadFile reads the
/// file's bytes.
#[test]
fn copy_on_write_views_do_not_write_back() {
    check(|ctx| async move {
        let h = file_of(&ctx, F, GENERIC_READ, 4096, b'a').await;
        let m = mapping(&ctx, h, PAGE_WRITECOPY, 0).await;
        let v = ctx.map_view_of_file(m, FILE_MAP_COPY, 0, 0, 0).await;
        assert_ne!(v, 0);
        ctx.write_u8(v, b'Z').await;
        assert_eq!(ctx.read_u8(v).await, b'Z');
        assert_eq!(read(&ctx, h, 2).await, b"aa");
        0
    });
}

/// §28.9 (Wine file.c test_file_sharing, mapping part, on Windows): while a PAGE_READWRITE
/// section of the file exists (even with every file handle closed) an open that does not
/// share write fails with ERROR_SHARING_VIOLATION, whatever its access; a PAGE_READONLY or
/// PAGE_WRITECOPY section restricts nothing; the section does not keep the closed handle's
/// own share mode.
#[test]
fn a_writable_section_makes_opens_share_write() {
    check(|ctx| async move {
        for (p, restricts) in [(PAGE_READWRITE, true), (PAGE_READONLY, false), (PAGE_WRITECOPY, false)] {
            let h = file_of(&ctx, F, RW, 100, 1).await;
            assert_eq!(ctx.close_handle(h).await, TRUE);
            let h0 = open(&ctx, F, RW, 0, OPEN_EXISTING).await;
            let m = mapping(&ctx, h0, p, 0).await;
            assert_eq!(ctx.close_handle(h0).await, TRUE);
            for access in [0, GENERIC_READ, RW] {
                for share in 0..8 {
                    ctx.set_last_error(SENTINEL);
                    let h2 = ctx.create_file(F, access, share, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                    if restricts && share & FILE_SHARE_WRITE == 0 {
                        assert_eq!(h2, INVALID_HANDLE_VALUE, "0x{p:x}: {access:x}/{share:x}");
                        assert_eq!(ctx.get_last_error(), ERROR_SHARING_VIOLATION);
                    } else {
                        assert_ne!(h2, INVALID_HANDLE_VALUE, "0x{p:x}: {access:x}/{share:x}");
                        assert_eq!(ctx.close_handle(h2).await, TRUE);
                    }
                }
            }
            assert_eq!(ctx.close_handle(m).await, TRUE);
        }
        0
    });
}

/// §28.15 (Wine file.c test_file_sharing: CREATE_ALWAYS over a file with a section fails
/// with ERROR_USER_MAPPED_FILE, on Windows; MmCanFileBeTruncated for SetEndOfFile
/// [inferred]): overwriting or shrinking a file below a live section's size fails with
/// ERROR_USER_MAPPED_FILE; extending it does not; with the section gone, shrinking works.
#[test]
fn a_section_keeps_its_file_from_shrinking() {
    check(|ctx| async move {
        let h = file_of(&ctx, F, RW, 8192, 1).await;
        let m = mapping(&ctx, h, PAGE_READONLY, 0).await;
        assert_eq!(open_error(&ctx, F, GENERIC_WRITE, SHARE_ALL, CREATE_ALWAYS).await, ERROR_USER_MAPPED_FILE);
        assert_eq!(open_error(&ctx, F, GENERIC_WRITE, SHARE_ALL, TRUNCATE_EXISTING).await, ERROR_USER_MAPPED_FILE);
        seek(&ctx, h, 4096).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_end_of_file(h).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_USER_MAPPED_FILE);
        seek(&ctx, h, 10000).await;
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        // A view keeps the section after its handle closes.
        let v = ctx.map_view_of_file(m, FILE_MAP_READ, 0, 0, 0).await;
        assert_eq!(ctx.close_handle(m).await, TRUE);
        seek(&ctx, h, 0).await;
        assert_eq!(ctx.set_end_of_file(h).await, FALSE);
        assert_eq!(ctx.unmap_view_of_file(v).await, TRUE);
        assert_eq!(ctx.set_end_of_file(h).await, TRUE);
        assert_eq!(size(&ctx, h).await, 0);
        0
    });
}

/// §28.19 (§25: the data-race detector): a store through a view of a file and a
/// ReadFile of the same bytes by another thread, with nothing ordering them, are a data
/// race; ordered by an event, they are not. WriteFile and ReadFile on one file are
/// ordered by the file (the file system serialises them).
#[test]
fn a_view_store_and_a_read_file_race_unless_ordered() {
    for ordered in [false, true] {
        let r = run_main(move |ctx| async move {
            let h = file_of(&ctx, F, RW, 4096, 0).await;
            let m = mapping(&ctx, h, PAGE_READWRITE, 0).await;
            let v = ctx.map_view_of_file(m, FILE_MAP_WRITE, 0, 0, 0).await;
            let ev = ctx.create_event(None, true, false, None).await;
            let mut dup = HANDLE::NULL;
            let me = ctx.get_current_process();
            assert_eq!(ctx.duplicate_handle(me, h, me, &mut dup, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
            let t = spawn(&ctx, move |ctx| async move {
                if ordered {
                    assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
                }
                let mut b = [0u8; 4];
                let _ = ctx.read_file(dup, &mut b, None).await;
                0
            })
            .await;
            ctx.write_u32(v, 0x1234_5678).await;
            assert_eq!(ctx.set_event(ev).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
            0
        });
        match (&r.outcome, ordered) {
            (Outcome::DataRace(race), false) => {
                let text = format!("{race:?}");
                assert!(text.contains("ReadFile") && text.contains("WriteMemory"), "{text}");
            }
            (o, true) => assert!(o.is_completed(), "{o:?}\n{}", r.trace_text()),
            (o, false) => panic!("expected a data race, got {o:?}\n{}", r.trace_text()),
        }
    }
}

/// §28.21 (Microsoft Learn, ReadFile/WriteFile "Synchronization and File Position": with
/// an OVERLAPPED the I/O starts at Offset/OffsetHigh; on a synchronous handle the call
/// stays synchronous and moves the file pointer past the bytes; a read at the end of file
/// with an OVERLAPPED fails with ERROR_HANDLE_EOF; Offset = OffsetHigh = 0xFFFFFFFF
/// writes at the end of file): the OVERLAPPED records the completion (Internal 0,
/// InternalHigh the count) and its event is set.
#[test]
fn an_overlapped_gives_the_offset_on_a_synchronous_handle() {
    check(|ctx| async move {
        let h = open(&ctx, F, RW, 0, CREATE_NEW).await;
        write(&ctx, h, b"0123456789").await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::with_offset(ev, 3);
        let buf = IoBuffer::new(4);
        let mut n = 0;
        assert_eq!(ctx.read_file_overlapped(h, &buf, Some(&mut n), &ov).await, TRUE);
        assert_eq!((n, buf.to_vec()), (4, b"3456".to_vec()));
        assert_eq!((ov.internal(), ov.internal_high()), (0, 4));
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        // The pointer follows the OVERLAPPED's read.
        assert_eq!(read(&ctx, h, 2).await, b"78");
        let ow = Overlapped::with_offset(HANDLE::NULL, 1);
        assert_eq!(ctx.write_file_overlapped(h, b"AB", None, &ow).await, TRUE);
        let end = Overlapped::with_offset(HANDLE::NULL, u64::MAX);
        assert_eq!(ctx.write_file_overlapped(h, b"!", None, &end).await, TRUE);
        seek(&ctx, h, 0).await;
        assert_eq!(read(&ctx, h, 20).await, b"0AB3456789!");
        let past = Overlapped::with_offset(HANDLE::NULL, 11);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(h, &IoBuffer::new(4), None, &past).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_HANDLE_EOF);
        0
    });
}

/// §28.21: on a handle opened with FILE_FLAG_OVERLAPPED the I/O of the in-memory volume
/// completes at once (Windows may also pend it; a cached read often does not): TRUE,
/// the OVERLAPPED filled in; there is no file pointer. ReadFileEx and WriteFileEx run
/// their completion routine in the next alertable wait (§16.39).
#[test]
fn overlapped_file_handles_complete_at_once_and_run_completion_routines() {
    use std::cell::Cell;
    use std::rc::Rc;
    check(|ctx| async move {
        let h = ctx.create_file(F, RW, 0, None, CREATE_NEW, FILE_FLAG_OVERLAPPED, HANDLE::NULL).await;
        let ow = Overlapped::with_offset(HANDLE::NULL, 0);
        assert_eq!(ctx.write_file_overlapped(h, b"hello", None, &ow).await, TRUE);
        assert_eq!(ow.internal_high(), 5);
        let got = Rc::new(Cell::new((u32::MAX, 0u32)));
        let g = got.clone();
        let buf = IoBuffer::new(8);
        let ov = Overlapped::with_offset(HANDLE::NULL, 1);
        let ok =
            ctx.read_file_ex(h, &buf, &ov, move |_ctx, code, bytes, _ov| async move { g.set((code, bytes)) }).await;
        assert_eq!(ok, TRUE);
        assert_eq!(got.get().0, u32::MAX, "the routine waits for an alertable wait");
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(got.get(), (0, 4));
        assert_eq!(buf.head(4), b"ello");
        let ow = Overlapped::with_offset(HANDLE::NULL, 5);
        assert_eq!(ctx.write_file_ex(h, b"!", &ow, |_ctx, _code, _bytes, _ov| async {}).await, TRUE);
        let mut s = 0;
        assert_eq!(ctx.get_file_size_ex(h, Some(&mut s)).await, TRUE);
        assert_eq!(s, 6);
        0
    });
}

/// §28.24 (Microsoft Learn, OpenFile; Wine kernel32 file.c test_OpenFile, which runs on
/// Windows): OF_EXIST of a missing file fails with ERROR_FILE_NOT_FOUND in the last error
/// and nErrCode and leaves cBytes; OF_CREATE creates an empty file and fills the OFSTRUCT
/// (cBytes 136, nErrCode 0, the full path); OF_READ, OF_WRITE and OF_READWRITE open it
/// with that access; OF_EXIST returns 1 and leaves no handle open; OF_DELETE returns 1 and
/// the file is gone; a path past 127 characters fails with ERROR_FILENAME_EXCED_RANGE;
/// OF_SHARE_EXCLUSIVE shares nothing and OF_SHARE_DENY_WRITE shares reading.
#[test]
fn open_file_over_create_file() {
    check(|ctx| async move {
        let path = r"C:\openfile.txt";
        let mut ofs = OFSTRUCT { cBytes: 0xA5, ..OFSTRUCT::default() };
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.open_file(path, &mut ofs, OF_EXIST).await, HFILE_ERROR);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        assert_eq!((ofs.nErrCode, ofs.cBytes), (2, 0xA5));

        let h = ctx.open_file(path, &mut ofs, OF_CREATE | OF_WRITE).await;
        assert_ne!(h, HFILE_ERROR);
        assert_eq!(ofs, OFSTRUCT { cBytes: 136, fFixedDisk: 1, nErrCode: 0, szPathName: path.into() });
        write(&ctx, HANDLE(h as isize), b"hello").await;
        assert_eq!(ctx.close_handle(HANDLE(h as isize)).await, TRUE);

        // OF_READ opens for reading only: a write fails with ERROR_ACCESS_DENIED.
        ctx.set_last_error(SENTINEL);
        let r = HANDLE(ctx.open_file(path, &mut ofs, OF_READ).await as isize);
        assert_ne!(r, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
        assert_eq!(read(&ctx, r, 16).await, b"hello");
        assert_eq!(ctx.write_file(r, b"x", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.close_handle(r).await, TRUE);

        // OF_REOPEN takes the path from the OFSTRUCT; OF_READWRITE reads and writes.
        let rw = HANDLE(ctx.open_file("ignored", &mut ofs, OF_REOPEN | OF_READWRITE).await as isize);
        assert_ne!(rw, INVALID_HANDLE_VALUE);
        write(&ctx, rw, b"J").await;
        // OF_SHARE_EXCLUSIVE: nobody else may open it while this handle is open.
        assert_eq!(ctx.close_handle(rw).await, TRUE);
        let ex = HANDLE(ctx.open_file(path, &mut ofs, OF_READ | OF_SHARE_EXCLUSIVE).await as isize);
        assert_ne!(ex, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.open_file(path, &mut ofs, OF_READ | OF_SHARE_DENY_NONE).await, HFILE_ERROR);
        assert_eq!(ctx.get_last_error(), ERROR_SHARING_VIOLATION);
        assert_eq!(ofs.nErrCode, 32);
        assert_eq!(ctx.close_handle(ex).await, TRUE);
        // OF_SHARE_DENY_WRITE: another reader may open it, a writer may not.
        let dw = HANDLE(ctx.open_file(path, &mut ofs, OF_READ | OF_SHARE_DENY_WRITE).await as isize);
        let reader = ctx.open_file(path, &mut ofs, OF_READ | OF_SHARE_DENY_NONE).await;
        assert_ne!(reader, HFILE_ERROR);
        assert_eq!(ctx.open_file(path, &mut ofs, OF_WRITE | OF_SHARE_DENY_NONE).await, HFILE_ERROR);
        assert_eq!(ctx.get_last_error(), ERROR_SHARING_VIOLATION);
        assert_eq!(ctx.close_handle(dw).await, TRUE);
        assert_eq!(ctx.close_handle(HANDLE(reader as isize)).await, TRUE);

        // OF_EXIST returns 1 and closes what it opened: an exclusive open then succeeds.
        assert_eq!(ctx.open_file(path, &mut ofs, OF_EXIST).await, 1);
        assert_eq!(ofs.nErrCode, 0);

        // OF_CREATE truncates an existing file.
        let t = HANDLE(ctx.open_file(path, &mut ofs, OF_CREATE | OF_READWRITE).await as isize);
        assert_eq!(size(&ctx, t).await, 0);
        assert_eq!(ctx.close_handle(t).await, TRUE);

        // A full path of 128 characters does not fit szPathName.
        let long = format!(r"C:\{}", "a".repeat(125));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.open_file(&long, &mut ofs, OF_EXIST).await, HFILE_ERROR);
        assert_eq!(ctx.get_last_error(), ERROR_FILENAME_EXCED_RANGE);
        assert_eq!(ofs.nErrCode, 206);

        // OF_DELETE deletes and returns 1; the file is gone.
        assert_eq!(ctx.open_file(path, &mut ofs, OF_DELETE).await, 1);
        assert_eq!(ctx.open_file(path, &mut ofs, OF_EXIST).await, HFILE_ERROR);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        assert_eq!(ctx.open_file(path, &mut ofs, OF_DELETE).await, HFILE_ERROR);
        assert_eq!(ofs.nErrCode, 2);
        0
    });
}

/// §28.24: OF_PARSE and the dialog-box styles are not modelled: the run ends as
/// Unsupported rather than guess.
#[test]
fn open_file_styles_not_modelled_end_the_run() {
    let r = run_main(|ctx| async move {
        let mut ofs = OFSTRUCT::default();
        let _ = ctx.open_file(r"C:\x", &mut ofs, OF_PARSE).await;
        ctx.sleep(0).await;
        0
    });
    assert!(matches!(&r.outcome, Outcome::Unsupported { api, .. } if api == "OpenFile"), "{}", r.summary());
}
