import { COCO_BIRD_CATEGORY_ID } from './coco-ssd.js';
import { boxOnImage, type DetectionRecord } from './detect-birds.js';
import path from 'node:path';

/**
 * COCO detection JSON of the bird boxes and GrabCut outlines: `at: 'source'` in the coordinates the detector saw
 * (the 256px copies), `at: 'image'` mapped to the images crops are cut from (64px). Images with no bird have no
 * annotation and are listed in `info.noBird`.
 */
export function toCocoJson(records: DetectionRecord[], at: 'source' | 'image', minScore: number): object {
  const images = records.map((r, i) => ({
    id: i + 1,
    file_name: path.basename(r.file),
    plumage_id: r.id,
    width: at === 'source' ? r.sourceWidth : r.width,
    height: at === 'source' ? r.sourceHeight : r.height,
  }));
  const annotations: object[] = [];
  records.forEach((r, i) => {
    if (!r.box) return;
    const { box, polygon } = at === 'source' ? { box: r.box, polygon: r.polygon } : boxOnImage(r);
    const round = (v: number) => Math.round(v * 100) / 100;
    annotations.push({
      id: annotations.length + 1,
      image_id: i + 1,
      category_id: COCO_BIRD_CATEGORY_ID,
      bbox: [box.x, box.y, box.w, box.h].map(round),
      area: round(box.w * box.h),
      segmentation: polygon.length >= 6 ? [polygon.map(round)] : [],
      score: Math.round(r.score * 1e4) / 1e4,
      iscrowd: 0,
    });
  });
  return {
    info: {
      description: `plumage detect: COCO SSDLite-MobileNetV2 'bird' boxes (min score ${minScore}) + GrabCut outlines, ${at === 'source' ? 'on the images the detector saw' : 'mapped to the dataset images'}`,
      noBird: records.filter((r) => !r.box).map((r) => r.id),
    },
    images,
    annotations,
    categories: [{ id: COCO_BIRD_CATEGORY_ID, name: 'bird', supercategory: 'animal' }],
  };
}
