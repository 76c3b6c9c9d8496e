from wharf_client import STDERR, STDOUT, FrameDecoder, demultiplex, encode_frame
from wharf_client._frames import MULTIPLEXED_STREAM, RAW_STREAM, is_multiplexed


def test_encode_frame_header_layout() -> None:
    assert encode_frame(STDERR, b"abc") == b"\x02\x00\x00\x00\x00\x00\x00\x03abc"


def test_decoder_reassembles_frames_split_at_every_byte() -> None:
    data = encode_frame(STDOUT, b"hello\n") + encode_frame(STDERR, b"oops\n") + encode_frame(STDOUT, b"")
    decoder = FrameDecoder()
    frames = []
    for index in range(len(data)):
        frames.extend(decoder.feed(data[index : index + 1]))
    assert frames == [(STDOUT, b"hello\n"), (STDERR, b"oops\n"), (STDOUT, b"")]
    assert decoder.pending == 0


def test_decoder_handles_many_frames_in_one_chunk_and_large_payloads() -> None:
    big = b"x" * 200_000
    chunks = [encode_frame(STDOUT, b"a") + encode_frame(STDOUT, big)[:100], encode_frame(STDOUT, big)[100:]]
    assert list(demultiplex(chunks)) == [(STDOUT, b"a"), (STDOUT, big)]


def test_demultiplex_drops_truncated_last_frame() -> None:
    data = encode_frame(STDOUT, b"complete") + encode_frame(STDOUT, b"truncated")[:-2]
    assert list(demultiplex([data])) == [(STDOUT, b"complete")]


def test_is_multiplexed_prefers_content_type_then_tty() -> None:
    assert is_multiplexed(MULTIPLEXED_STREAM, tty=True)
    assert not is_multiplexed(RAW_STREAM, tty=False)
    assert not is_multiplexed("", tty=True)
    assert is_multiplexed("", tty=False)
    assert is_multiplexed("", tty=None)
